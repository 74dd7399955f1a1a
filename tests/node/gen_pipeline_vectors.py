#!/usr/bin/env python3
"""Records what the reference Python netaio's TCPServer answers, byte for byte,
for a set of requests sealed by its TCPClient: tests/data/node-pipeline.json.

Randomness and time are made deterministic so the C++ pipeline can reproduce
every byte: nonces and IVs come from one counter per scenario (bytes 1, 2,
3, ... in call order, as tests/plugins' counter_random), the stream cipher
splits a ciphertext of n bytes at n // 2, and the clock reads 1700000000.

  PYTHONPATH=$R/packify:$R/netaio:$R/tapescript python3 tests/node/gen_pipeline_vectors.py \
      > tests/data/node-pipeline.json        (R = ../shared/reference)
"""
import asyncio
import json
import logging

import netaio
import netaio.auth
import netaio.cipher
import netaio.crypto
from netaio import MessageType as MT

PEER = ('127.0.0.1', 50000)
CLOCK = 1700000000


class Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, size):
        out = bytes((self.n + i + 1) % 256 for i in range(size))
        self.n += size
        return out


counter = Counter()
netaio.auth.urandom = lambda size: counter(size)
netaio.crypto.urandom = lambda size: counter(size)
netaio.auth.time = lambda: CLOCK
netaio.cipher.randint = lambda a, b: (a + b) // 2


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.items = []

    def emit(self, record):
        self.items.append([record.levelname.lower(), record.getMessage()])


class Writer:
    """What the server writes to, and the peer it reports."""

    def __init__(self):
        self.data = b''

    def get_extra_info(self, name):
        return PEER if name == 'peername' else None

    def write(self, data):
        self.data += data

    async def drain(self):
        pass

    def is_closing(self):
        return False


def hmac(secret, **fields):
    return netaio.HMACAuthPlugin(config={'secret': secret, **fields})


def stream(key, **fields):
    return netaio.Sha256StreamCipherPlugin(config={'key': key, **fields})


def plugins(spec):
    """A JSON description of a layer -> (auth, cipher) plugin objects."""
    if spec is None:
        return None, None
    auth = hmac(spec['hmac'], **({'hmac_field': spec['hmac_field']}
                                 if 'hmac_field' in spec else {})) if 'hmac' in spec else None
    cipher = stream(spec['stream'], **({'iv_field': spec['iv_field']}
                                       if 'iv_field' in spec else {})) if 'stream' in spec else None
    return auth, cipher


def server_for(outer, inner):
    log = logging.getLogger('netaio.vectors')
    log.setLevel(logging.DEBUG)
    log.propagate = False
    auth, cipher = plugins(outer)
    server = netaio.TCPServer(auth_plugin=auth, cipher_plugin=cipher, logger=log)
    iauth, icipher = plugins(inner)

    @server.on((MT.REQUEST_URI, b'echo'))
    def echo(msg, writer):
        # A fresh message: no auth fields carried over.
        return netaio.make_respond_uri_msg(msg.body.content, b'echo')

    @server.on(MT.PUBLISH_URI)
    def publish(msg, writer):
        # The received message itself: its auth fields (nonce, ts, iv) are
        # carried into the response, where the plugins reuse or replace them.
        return msg

    @server.on(MT.CREATE_URI, auth_plugin=iauth, cipher_plugin=icipher)
    def create(msg, writer):
        return netaio.make_ok_msg(b'stored', msg.body.uri)

    @server.on(MT.DELETE_URI)
    def delete(msg, writer):
        return None

    return server, log


def client_for(outer):
    auth, cipher = plugins(outer)
    client = netaio.TCPClient(auth_plugin=auth, cipher_plugin=cipher)
    writer = Writer()
    client.hosts[client.default_host] = (None, writer)
    return client, writer


async def run(scenario):
    counter.n = 0
    outer, inner = scenario.get('outer'), scenario.get('inner')
    client, sent = client_for(outer)
    iauth, icipher = plugins(scenario.get('call'))
    msg = netaio.Message.prepare(
        netaio.Body.prepare(scenario['content'].encode(), scenario['uri'].encode()),
        MT[scenario['type']])
    await client.send(msg, auth_plugin=iauth, cipher_plugin=icipher)
    request = sent.data
    request = tamper(request, scenario.get('tamper'))

    server, log = server_for(outer, inner)
    records = Records()
    log.handlers = [records]
    reader = asyncio.StreamReader()
    reader.feed_data(request)
    reader.feed_eof()
    answer = Writer()
    await server.receive(reader, answer)
    out = dict(scenario)
    out['request'] = request.hex()
    out['response'] = answer.data.hex()
    out['log'] = [r for r in records.items if r[0] != 'debug']
    return out


def tamper(frame, how):
    """Damages a sealed frame the ways the scenarios name."""
    if how is None:
        return frame
    msg = netaio.Message.decode(frame)
    if how == 'hmac':
        mac = bytearray(msg.auth_data.fields['hmac'])
        mac[0] ^= 1
        msg.auth_data.fields['hmac'] = bytes(mac)
    elif how == 'camh':
        mac = bytearray(msg.auth_data.fields['camh'])
        mac[0] ^= 1
        msg.auth_data.fields['camh'] = bytes(mac)
    elif how == 'drop_iv':
        del msg.auth_data.fields['iv']
    elif how == 'checksum':
        out = bytearray(frame)
        out[5] ^= 1
        return bytes(out)
    else:
        raise ValueError(how)
    return msg.encode()


HMAC = {'hmac': 'test'}
HMAC_STREAM = {'hmac': 'test', 'stream': 'test'}
ADMIN = {'hmac': 'adminpassword', 'hmac_field': 'camh'}
INNER4 = {'hmac': 'adminpassword', 'hmac_field': 'camh', 'stream': 'inner', 'iv_field': 'iv2'}
SCENARIOS = [
    # plain
    {'name': 'plain echo', 'type': 'REQUEST_URI', 'uri': 'echo', 'content': 'hello'},
    {'name': 'plain publish', 'type': 'PUBLISH_URI', 'uri': 'news', 'content': 'hi'},
    {'name': 'plain not found', 'type': 'UPDATE_URI', 'uri': 'nothing', 'content': 'x'},
    {'name': 'plain no answer', 'type': 'DELETE_URI', 'uri': 'gone', 'content': ''},
    {'name': 'plain bad checksum', 'type': 'REQUEST_URI', 'uri': 'echo', 'content': 'hello',
     'tamper': 'checksum'},
    # HMAC outer
    {'name': 'hmac echo', 'outer': HMAC, 'type': 'REQUEST_URI', 'uri': 'echo',
     'content': 'hello'},
    {'name': 'hmac publish', 'outer': HMAC, 'type': 'PUBLISH_URI', 'uri': 'news',
     'content': 'hi'},
    {'name': 'hmac not found', 'outer': HMAC, 'type': 'UPDATE_URI', 'uri': 'nothing',
     'content': 'x'},
    {'name': 'hmac forged', 'outer': HMAC, 'type': 'REQUEST_URI', 'uri': 'echo',
     'content': 'hello', 'tamper': 'hmac'},
    {'name': 'hmac forged error', 'outer': HMAC, 'type': 'ERROR', 'uri': 'ERROR',
     'content': 'oops', 'tamper': 'hmac'},
    {'name': 'hmac bad checksum', 'outer': HMAC, 'type': 'REQUEST_URI', 'uri': 'echo',
     'content': 'hello', 'tamper': 'checksum'},
    # HMAC + stream cipher outer
    {'name': 'hmac+stream echo', 'outer': HMAC_STREAM, 'type': 'REQUEST_URI', 'uri': 'echo',
     'content': 'hello'},
    {'name': 'hmac+stream publish', 'outer': HMAC_STREAM, 'type': 'PUBLISH_URI',
     'uri': 'news', 'content': 'hi there'},
    {'name': 'hmac+stream not found', 'outer': HMAC_STREAM, 'type': 'UPDATE_URI',
     'uri': 'nothing', 'content': 'x'},
    {'name': 'hmac+stream forged', 'outer': HMAC_STREAM, 'type': 'REQUEST_URI',
     'uri': 'echo', 'content': 'hello', 'tamper': 'hmac'},
    # a stream cipher alone cannot decrypt without its iv: dropped, logged
    {'name': 'stream no iv', 'outer': {'stream': 'test'}, 'type': 'REQUEST_URI',
     'uri': 'echo', 'content': 'hello', 'tamper': 'drop_iv'},
    # two HMAC layers: node-wide "test", per-handler "adminpassword" in "camh"
    {'name': 'two hmac create', 'outer': HMAC, 'inner': ADMIN, 'call': ADMIN,
     'type': 'CREATE_URI', 'uri': 'thing', 'content': 'value'},
    {'name': 'two hmac inner forged', 'outer': HMAC, 'inner': ADMIN, 'call': ADMIN,
     'type': 'CREATE_URI', 'uri': 'thing', 'content': 'value', 'tamper': 'camh'},
    {'name': 'two hmac inner missing', 'outer': HMAC, 'inner': ADMIN,
     'type': 'CREATE_URI', 'uri': 'thing', 'content': 'value'},
    # HMAC + stream outer, HMAC + stream inner. The inner cipher needs its own
    # iv field: with both in "iv", the outer IV replaces the inner one and the
    # reference hands its handler a garbled message (we refuse to decrypt it).
    {'name': 'four layers create', 'outer': HMAC_STREAM, 'inner': INNER4, 'call': INNER4,
     'type': 'CREATE_URI', 'uri': 'thing', 'content': 'value'},
]


async def main():
    out = [await run(s) for s in SCENARIOS]
    print(json.dumps({
        'reference': 'netaio ' + netaio.version() + ' TCPServer.receive / TCPClient.send',
        'peer': list(PEER), 'clock': CLOCK, 'split': 'n // 2',
        'random': 'counter: bytes 1, 2, 3, ... per scenario',
        'scenarios': out}, indent=1))


asyncio.run(main())
