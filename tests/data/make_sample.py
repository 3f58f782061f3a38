"""Record tests/data/sample.pcap: real nginx and dnsmasq traffic on loopback, plus a ping.

Run as root on a machine with nginx, dnsmasq, tcpdump and ping installed:
    python tests/data/make_sample.py tests/data/sample.pcap
The servers listen on their default ports (HTTP 8080, DNS 53) on 127.0.0.1 so that the
capture replays with shardbeat's defaults. Every name resolves locally; nothing leaves lo.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib

import dpkt

NGINX_CONF = """
daemon off; pid {d}/nginx.pid; error_log {d}/error.log; worker_processes 1;
events {{ worker_connections 64; }}
http {{
  access_log off; client_body_temp_path {d}; proxy_temp_path {d};
  fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  keepalive_requests 100; default_type text/plain;
  server {{ listen 127.0.0.1:8080; root {d}/www;
            location /api {{ return 201 '{{"created":true}}'; }} }}
}}
"""


def start_servers(d):
    os.makedirs(f"{d}/www", exist_ok=True)
    with open(f"{d}/www/index.html", "w") as f:
        f.write("<html><body>" + "hello shardbeat " * 40 + "</body></html>\n")
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(NGINX_CONF.format(d=d))
    nginx = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d])
    dns = subprocess.Popen([
        "dnsmasq", "--no-daemon", "--port=53", "--listen-address=127.0.0.1",
        "--bind-interfaces", "--no-resolv", "--no-hosts",
        "--address=/www.shardbeat.test/192.0.2.10", "--mx-host=shardbeat.test,mail.shardbeat.test,10",
        "--txt-record=shardbeat.test,v=spf1 -all"])
    time.sleep(1)
    return nginx, dns


def dns_query(name, qtype, tcp=False):
    q = dpkt.dns.DNS(id=zlib.crc32(name.encode()) % 65536, rd=1,
                     qd=[dpkt.dns.DNS.Q(name=name, type=qtype, cls=dpkt.dns.DNS_IN)])
    raw = bytes(q)
    if tcp:
        with socket.create_connection(("127.0.0.1", 53), timeout=2) as s:
            s.sendall(len(raw).to_bytes(2, "big") + raw)
            s.recv(65535)
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(raw, ("127.0.0.1", 53))
        s.recv(65535)


def traffic():
    conn = http.client.HTTPConnection("127.0.0.1", 8080, timeout=2)
    for method, path, body in (("GET", "/index.html", None), ("GET", "/missing", None),
                               ("POST", "/api/items?id=7", b"name=widget"),
                               ("HEAD", "/index.html", None)):
        conn.request(method, path, body=body, headers={"User-Agent": "shardbeat-sample"})
        conn.getresponse().read()
    conn.close()
    dns_query("www.shardbeat.test", dpkt.dns.DNS_A)
    dns_query("shardbeat.test", dpkt.dns.DNS_MX)
    dns_query("shardbeat.test", dpkt.dns.DNS_TXT, tcp=True)
    subprocess.run(["ping", "-c", "2", "-i", "0.2", "127.0.0.1"], check=False,
                   stdout=subprocess.DEVNULL)


def main(out):
    with tempfile.TemporaryDirectory() as d:
        nginx, dns = start_servers(d)
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-w", out,
                                 "tcp port 8080 or port 53 or icmp"])
        time.sleep(1)
        try:
            traffic()
            time.sleep(1.5)
        finally:
            dump.send_signal(signal.SIGINT)
            dump.wait()
            for p in (nginx, dns):
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main(sys.argv[1])
