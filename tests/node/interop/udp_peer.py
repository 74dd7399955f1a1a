"""A reference (Python netaio) UDPNode for the C++ interop test.

Usage: udp_peer.py CPP_PORT SECRET KEY

Binds 127.0.0.1 on an ephemeral port and prints "PORT <n>"; answers
REQUEST_URI 'echo' with RESPOND_URI 'echo' and the same content; manages
peers (advertising to its group; the C++ node advertises to it by unicast);
requests 'echo' from the C++ node until answered ("ECHO <content>"); prints
"DISCOVERED <hex id>" once it knows a peer. Exits when stdin closes, or
after 30 s whatever happens.
"""
import asyncio
import sys

from netaio import (UDPNode, Peer, Body, Message, MessageType, HMACAuthPlugin,
                    Sha256StreamCipherPlugin)


def say(*parts):
    print(*parts, flush=True)


async def main(cpp_port: int, secret: str, key: str):
    node = UDPNode(
        port=0, interface='127.0.0.1',
        local_peer=Peer(addrs=set(), id=b'python-node', data=b''),
        auth_plugin=HMACAuthPlugin(config={'secret': secret}),
        cipher_plugin=Sha256StreamCipherPlugin(config={'key': key}),
        ignore_own_ip=False,  # the C++ node is on this host too
    )

    @node.on((MessageType.REQUEST_URI, b'echo'))
    def echo(msg, addr):
        return Message.prepare(Body.prepare(msg.body.content, b'echo'), MessageType.RESPOND_URI)

    await node.start()
    node.port = node.transport.get_extra_info('sockname')[1]
    say('PORT', node.port)
    await node.manage_peers_automatically(advertise_every=1, peer_timeout=10)

    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    cpp = ('127.0.0.1', cpp_port)
    echoed = discovered = False
    deadline = loop.time() + 30
    while loop.time() < deadline and not stdin_closed.done():
        if not echoed:
            try:
                answer = await node.request(b'echo', cpp, timeout=1.0, content=b'from python')
                say('ECHO', answer.header.message_type.name, answer.body.content.decode())
                echoed = True
            except TimeoutError:
                pass
        if not discovered and node.peers:
            for peer_id in node.peers:
                say('DISCOVERED', peer_id.hex())
            discovered = True
        await asyncio.sleep(0.1)
    await node.stop()


if __name__ == '__main__':
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
