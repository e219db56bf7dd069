/** echo-server: the echo.v1 gRPC service, served by Helidon over SPIFFE mutual TLS. */
package dev.echochain.server;
