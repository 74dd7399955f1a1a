"""The reference Python netaio doing what bench_node rtt does: a TCPServer
answering REQUEST_URI "echo" and a TCPClient doing sequential requests, with
the same plugins (plain, hmac, hmac_cipher) and the same request.

usage: ref_bench.py rtt PLUGINS SECONDS
  runs the server in a child process (its own interpreter: Python runs one
  thread at a time, the C++ benchmark's server has its own thread), the
  client here, and prints
  RESULT scenario=rtt impl=python value=N unit=rtt/s count=C plugins=P
usage: ref_bench.py server PLUGINS MAX_SECONDS   (the child: prints PORT n)

Needs the reference on PYTHONPATH (packify, netaio, tapescript) and PyNaCl.
"""
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

from netaio import (TCPServer, TCPClient, HMACAuthPlugin, Sha256StreamCipherPlugin,
                    MessageType, make_respond_uri_msg)

CONTENT = b'netaio benchmark request content, the same each time..'


def plugins(mode):
    if mode == 'plain':
        return None, None
    if mode not in ('hmac', 'hmac_cipher'):
        raise SystemExit('ref_bench.py: unknown plugins ' + mode)
    auth = HMACAuthPlugin(config={'secret': b'secret'})
    cipher = Sha256StreamCipherPlugin(config={'key': b'key'}) if mode == 'hmac_cipher' else None
    return auth, cipher


async def serve(mode, max_seconds):
    auth, cipher = plugins(mode)
    server = TCPServer(port=0, auth_plugin=auth, cipher_plugin=cipher)

    @server.on((MessageType.REQUEST_URI, b'echo'))
    def echo(msg, writer):
        return make_respond_uri_msg(msg.body.content, msg.body.uri)

    task = asyncio.create_task(server.start())
    while getattr(server, 'server', None) is None:
        await asyncio.sleep(0.01)
    print('PORT', server.server.sockets[0].getsockname()[1], flush=True)
    try:
        await asyncio.wait_for(task, max_seconds)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass


async def requests(port, mode, seconds):
    auth, cipher = plugins(mode)
    client = TCPClient(port=port, auth_plugin=auth, cipher_plugin=cipher)
    await client.connect()

    async def one():
        r = await client.request(b'echo', content=CONTENT, timeout=5)
        if r.header.message_type != MessageType.RESPOND_URI or r.body.content != CONTENT:
            raise SystemExit('ref_bench.py: wrong answer')

    for _ in range(200):  # warm-up
        await one()
    count = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        for _ in range(16):
            await one()
        count += 16
    elapsed = time.perf_counter() - t0
    await client.close()
    return count, elapsed


def main():
    logging.disable(logging.WARNING)  # as the C++ nodes: nothing logged below warning
    if len(sys.argv) == 4 and sys.argv[1] == 'server':
        asyncio.run(serve(sys.argv[2], float(sys.argv[3])))
        return 0
    if len(sys.argv) != 4 or sys.argv[1] != 'rtt':
        print(__doc__, file=sys.stderr)
        return 2
    mode, seconds = sys.argv[2], float(sys.argv[3])
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), 'server', mode,
                               str(seconds + 60)], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith('PORT '):
            print('ref_bench.py: the server did not start', file=sys.stderr)
            return 1
        count, elapsed = asyncio.run(requests(int(line.split()[1]), mode, seconds))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print('RESULT scenario=rtt impl=python value=%.6g unit=rtt/s count=%d plugins=%s' % (
        count / elapsed, count, mode), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
