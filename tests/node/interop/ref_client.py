"""The reference netaio TCPClient against a C++ tcp_server: echo, the CRUD
sequence, NOT_FOUND, subscribe/notify and a forged HMAC, under one plugin
setup. Usage: ref_client.py PORT MODE (plain|hmac|hmac_cipher|two_hmac).
Prints one line per step; exits 0 when every step matched."""
import asyncio
import sys

from netaio import (TCPClient, HMACAuthPlugin, Sha256StreamCipherPlugin,
                   MessageType, Body, Message)


def plugins(mode, secret=b'secret'):
    outer_auth = outer_cipher = inner_auth = None
    if mode in ('hmac', 'hmac_cipher', 'two_hmac'):
        outer_auth = HMACAuthPlugin(config={'secret': secret, 'hmac_field': 'outer_hmac'}
                                    if mode == 'two_hmac' else {'secret': secret})
    if mode == 'hmac_cipher':
        outer_cipher = Sha256StreamCipherPlugin(config={'key': b'key'})
    if mode == 'two_hmac':
        inner_auth = HMACAuthPlugin(config={'secret': b'inner secret'})
    return outer_auth, outer_cipher, inner_auth


async def main(port, mode):
    outer_auth, outer_cipher, inner_auth = plugins(mode)
    client = TCPClient(port=port, auth_plugin=outer_auth, cipher_plugin=outer_cipher)
    got = asyncio.Event()
    notes = []

    @client.on((MessageType.NOTIFY_URI, b'news'))
    def on_notify(message, writer):
        notes.append(message.body.content)
        got.set()

    await client.connect()
    kw = {'auth_plugin': inner_auth, 'timeout': 5}
    ok = True

    def check(name, cond):
        nonlocal ok
        print(name, 'ok' if cond else 'FAILED', flush=True)
        ok = ok and cond

    r = await client.request(b'echo', content=b'hello', **kw)
    check('echo', r.header.message_type == MessageType.RESPOND_URI and r.body.content == b'hello')
    r = await client.create(b'k', b'v1', **kw)
    check('create', r.header.message_type == MessageType.OK)
    r = await client.request(b'k', **kw)
    check('read', r.body.content == b'v1')
    r = await client.update(b'k', b'v2', **kw)
    check('update', r.header.message_type == MessageType.OK)
    r = await client.delete(b'k', **kw)
    check('delete', r.header.message_type == MessageType.OK)
    r = await client.request(b'k', **kw)
    check('not found', r.header.message_type == MessageType.NOT_FOUND)

    # subscribe: the server notifies on "news" when it sees a subscriber.
    sub = Message.prepare(Body.prepare(b'', b'news'), MessageType.SUBSCRIBE_URI)
    await client.send(sub, auth_plugin=inner_auth)
    task = asyncio.create_task(client.receive_loop())
    try:
        await asyncio.wait_for(got.wait(), 5)
        check('notify', notes and notes[0] == b'news for you')
    except asyncio.TimeoutError:
        check('notify', False)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    await client.close()

    if outer_auth is not None:
        # A forged seal: the server answers with an unsealed AUTH_ERROR,
        # which the reference client cannot verify: it drops it and times out.
        bad = TCPClient(port=port, auth_plugin=HMACAuthPlugin(config={'secret': b'wrong'}),
                        cipher_plugin=outer_cipher)
        await bad.connect()
        try:
            await bad.request(b'echo', timeout=1)
            check('forged hmac', False)
        except TimeoutError:
            check('forged hmac', True)
        await bad.close()
    return ok


if __name__ == '__main__':
    sys.exit(0 if asyncio.run(main(int(sys.argv[1]), sys.argv[2])) else 1)
