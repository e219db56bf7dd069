set terminal pngcairo size 900,500 font ',10'
set logscale x 2
set xlabel 'requests in flight'
set ylabel 'throughput (requests/s)'
set y2label 'p99 latency (ms)'
set logscale y2 10
set ytics nomirror
set y2tics
set key outside bottom center horizontal
set grid
set output 'echo-server-vs-grpc-java.png'
set title "echo-server (Helidon gRPC, mTLS) against grpc-java Netty (BoringSSL), same SVID" noenhanced
plot 'echo-server-vs-grpc-java.dat' using 1:2 with linespoints lw 2 title 'grpc-java rps' noenhanced, '' using 1:3 with linespoints lw 2 title 'echo-server rps' noenhanced, '' using 1:4 axes x1y2 with linespoints dt 2 title 'grpc-java p99' noenhanced, '' using 1:5 axes x1y2 with linespoints dt 2 title 'echo-server p99' noenhanced
set output 'gateway-vs-direct.png'
set title "echo-gateway end to end (HTTPS mTLS, then gRPC mTLS) against echo-server directly (gRPC mTLS); both services on the server cores" noenhanced
plot 'gateway-vs-direct.dat' using 1:2 with linespoints lw 2 title 'echo-server direct rps' noenhanced, '' using 1:3 with linespoints lw 2 title 'echo-gateway rps' noenhanced, '' using 1:4 axes x1y2 with linespoints dt 2 title 'echo-server direct p99' noenhanced, '' using 1:5 axes x1y2 with linespoints dt 2 title 'echo-gateway p99' noenhanced
set output 'grpc-java-plaintext-vs-mtls.png'
set title "grpc-java Netty: plaintext against mTLS (BoringSSL)" noenhanced
plot 'grpc-java-plaintext-vs-mtls.dat' using 1:2 with linespoints lw 2 title 'grpc-java mTLS rps' noenhanced, '' using 1:3 with linespoints lw 2 title 'grpc-java plaintext rps' noenhanced, '' using 1:4 axes x1y2 with linespoints dt 2 title 'grpc-java mTLS p99' noenhanced, '' using 1:5 axes x1y2 with linespoints dt 2 title 'grpc-java plaintext p99' noenhanced
set output 'echo-server-accp-vs-jdk.png'
set title "echo-server throughput: native crypto provider (ACCP) against the JDK's" noenhanced
plot 'echo-server-accp-vs-jdk.dat' using 1:2 with linespoints lw 2 title 'JDK crypto rps' noenhanced, '' using 1:3 with linespoints lw 2 title 'ACCP rps' noenhanced, '' using 1:4 axes x1y2 with linespoints dt 2 title 'JDK crypto p99' noenhanced, '' using 1:5 axes x1y2 with linespoints dt 2 title 'ACCP p99' noenhanced
