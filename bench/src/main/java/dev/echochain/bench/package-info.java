/** The benchmark harness: runs the services as processes, offers validated load, and reports interleaved ratios. */
package dev.echochain.bench;
