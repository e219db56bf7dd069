/**
 * A local SPIFFE Workload API with an in-memory CA, for tests and for running the services without SPIRE.
 */
package dev.echochain.devworkload;
