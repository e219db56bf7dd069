/** Reliability and security tests of the echo chain: hostile input, TLS attacks, faults and outages, with figures. */
package dev.echochain.reliability;
