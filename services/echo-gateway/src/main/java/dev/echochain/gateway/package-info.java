/** echo-gateway: HTTPS over SPIFFE mutual TLS in front of echo-server, relayed over gRPC with mutual TLS. */
package dev.echochain.gateway;
