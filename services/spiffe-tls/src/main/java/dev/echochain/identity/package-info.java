/**
 * Workload identity for the echo services: X.509-SVIDs streamed from the SPIFFE Workload API, fed into Helidon TLS,
 * with peers authorized by exact SPIFFE ID, and the health checks and metrics that report on them.
 */
package dev.echochain.identity;
