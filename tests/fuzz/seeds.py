#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/seed-*):
valid and near-valid inputs in each target's input format (see the header of
tests/fuzz/fuzz_NAME.c). Run from the repository root: tests/fuzz/seeds.py [NAME...].
The wire corpus came from the wire target's former --seed-corpus writer; regression inputs
(regress-*) are written by hand when a crash is fixed, never by this script."""
import os, struct, sys, zlib

def idx(ndims_dims, payload):
    dims = ndims_dims
    return bytes([0, 0, 8, len(dims)]) + b''.join(struct.pack('>I', d) for d in dims) + payload

def idx_seeds():
    lab = idx([10], bytes(range(10)))
    img = idx([2, 28, 28], bytes((i * 7) % 256 for i in range(2 * 784)))
    lab2 = idx([2], bytes([3, 9]))
    small = idx([3, 2, 2], bytes(range(12)))
    pair = lambda a, b: struct.pack('<H', len(a)) + a + b
    s = {
        'labels': b'\x00' + lab,
        'labels-gz': b'\x04' + lab,
        'images': b'\x01' + small,
        'images-gz': b'\x05' + small,
        'labels-zipped': b'\x00' + gz(lab),
        'pair-float': b'\x02' + pair(img, lab2),
        'pair-binary': b'\x0a' + pair(img, lab2),
        'pair-paper': b'\x12' + pair(img, lab2),
        'pair-paper-gz': b'\x16' + pair(img, lab2),
        'pair-small-float': b'\x02' + pair(small, idx([3], bytes([0, 1, 2]))),
        'pair-count-mismatch': b'\x02' + pair(small, lab2),
        'pair-label-10': b'\x02' + pair(small, idx([3], bytes([0, 10, 2]))),
        'truncated': b'\x01' + small[:-3],
        'trailing': b'\x00' + lab + b'xx',
        'bad-magic': b'\x00' + b'\x01' + lab[1:],
        'type-0x09': b'\x00' + lab[:2] + b'\x09' + lab[3:],
        'dim-zero': b'\x00' + idx([0], b''),
        'huge-dims': b'\x01' + idx([0xffffffff, 0xffff, 0xff], b'\x00' * 8),
        'gz-cut': b'\x00' + gz(lab)[:-6],
    }
    return s

def gz(b):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(b) + c.flush()

def net_payload(sizes, banks=0, eps=1e-5, mom=0.1):
    p = struct.pack('<ii', 1, len(sizes) - 1) + struct.pack('<%di' % len(sizes), *sizes)
    p += struct.pack('<iff', 0, eps, mom)
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        p += struct.pack('<%df' % (n_in * n_out), *[0.01 * (k % 7 - 3) for k in range(n_in * n_out)])
        p += struct.pack('<%df' % (4 * n_out), *([1.0] * n_out + [0.0] * n_out + [0.0] * n_out + [1.0] * n_out))
    p += struct.pack('<i', banks)
    bank = sum(4 * s for s in sizes[1:])
    p += struct.pack('<%df' % (bank * banks), *([0.5] * (bank * banks)))
    return p

def container(kind, payload):
    return (b'MPCLSTOR' + struct.pack('<I', 1) + kind.ljust(16, b'\0') +
            struct.pack('<QI', len(payload), zlib.crc32(payload)) + payload)

def store_seeds():
    a = net_payload([4, 2])
    b = net_payload([3, 4, 2], banks=2)
    return {
        'file-net': b'\x00' + container(b'net', a),
        'file-net-banks': b'\x00' + container(b'net', b),
        'file-kind-run': b'\x00' + container(b'run\xff\x1b[1m', a),
        'file-bad-crc': b'\x00' + container(b'net', a)[:-1] + b'\x01',
        'file-short': b'\x00' + container(b'net', a)[:30],
        'wrap-net': b'\x01' + a,
        'wrap-net-banks': b'\x01' + b,
        'wrap-huge-sizes': b'\x01' + struct.pack('<ii3i', 1, 2, 65536, 65536, 16) + b'\0' * 12,
        'wrap-eps-nan': b'\x01' + net_payload([2, 2], eps=float('nan')),
        'wrap-banks-lie': b'\x01' + a[:-4] + struct.pack('<i', 64),
        'wrap-trailing': b'\x01' + a + b'\0\0',
        'wrap-version-2': b'\x01' + struct.pack('<i', 2) + a[4:],
        'kind-garbage': b'\x03' + b'\xfe\xff\x00net' + b'\0' * 11 + a,
    }

def simopts_seeds():
    uris = ['sim', 'sim:', 'sim:preset=ideal', 'sim:id=42,noise=0.015', 'sim:preset=worn,stuck=0.1,d2d=0.2',
            'sim:adc_bits=8,v_read=0.2,tia_gain=auto', 'sim:line_solver=exact,wire_ohm=2.5',
            'sim:row_wire_ohm=0.1,col_wire_ohm=8,access_ohm=1500,driver_ohm=10',
            'sim:adc_vfs=2.5,adc_offset=-3,adc_inl=2,adc_dnl=0.5,int_frac_bits=4',
            'sim:map=x,map_neg=y', 'sim:rows=0', 'sim:cols=1e9', 'sim:id=-1', 'sim:noise=nan',
            'sim:preset=\xff\x1b[31m', 'sim:bogus=1', 'sim:rows', 'sim:,,,', 'simx', 'plugin:/x.so',
            'sim:line_solver=slow', 'sim:id=1e300,adc_bits=4.5']
    return {'uri-%02d' % i: u.encode('latin-1') for i, u in enumerate(uris)}

def map_seeds():
    # byte 0: rows-1 (mod 16), byte 1: cols-1, byte 2: bit 0 map_neg, bits 1-2 preset; then the file
    return {
        'good-2x2': b'\x01\x01\x02' + b'50 5\n5 50\n',
        'good-3x2-crlf': b'\x02\x01\x00' + b'50 5\r\n5 50\r\n\r\n60 4\r\n',
        'neg-1x4': b'\x00\x03\x01' + b'  1e1\t2.5e1 30 40\n',
        'ragged': b'\x02\x02\x02' + b'1 2 3\n1 2\n',
        'too-wide': b'\x00\x00\x02' + b'1 2\n',
        'too-long': b'\x00\x01\x02' + b'1 2\n3 4\n',
        'not-number': b'\x01\x01\x02' + b'1 2\n\xff\xfe 3\n',
        'nul': b'\x01\x01\x02' + b'1 \x00 2\n',
        'nan-inf': b'\x01\x01\x04' + b'nan inf\n-1 0\n',
        'hex-float': b'\x01\x01\x02' + b'0x1p4 0x1.8p5\n1e-45 1e39\n',
        'empty': b'\x01\x01\x02',
        'blank-lines': b'\x01\x01\x02' + b'\n\n  \n',
    }

# ---- luaopts: programs in fuzz_luaopts.c's encoding (keep these tables in step with it) ----
CALLS = ['net', 'dataset', 'tasks', 'trainer', 'evaluate', 'experiment', 'baseline', 'chip.open',
         'energy', 'ops', 'program', 'map', 'histogram', 'infer', 'set', 'get', 'sizes', 'task',
         'info', 'mapping']
METHOD = {'program', 'map', 'histogram', 'infer', 'set', 'get', 'sizes', 'task', 'info', 'mapping'}
KEYS = ['sizes', 'binary', 'seed', 'init', 'input', 'threshold', 'groups', 'val', 'rule', 'm',
        'lr', 'batch', 'epochs', 'patience', 'restore', 'reset', 'bn', 'mask', 'scenario', 'joint',
        'ds', 'dataset', 'hidden', 'method', 'seq', 'optimizer', 'lambda', 'online', 'gamma',
        'fisher', 'fisher_n', 'c', 'xi', 'mem', 'ref', 'upto', 'confusion', 'split', 'tol',
        'max_pulses', 'learnt', 'layer', 'row', 'col', 'rows', 'cols', 'bins', 'max', 'p',
        'simulate', 'chip', 'v_read', 't_read', 'r_lrs', 'r_hrs', 'e_add', 'e_adc', 'adc_channels',
        'id', 'noise', 'stuck', 'd2d', 'adc_bits', 'map', 'map_neg', 'tia_gain', 'adc_vfs',
        'adc_offset', 'adc_inl', 'adc_dnl', 'int_frac_bits', 'wire_ohm', 'row_wire_ohm',
        'col_wire_ohm', 'access_ohm', 'driver_ohm', 'line_solver', 'preset', 'read_noise',
        'time_s', 'refresh', 'every']
WORDS = ['mnist', 'fmnist', 'paper192', 'float784', 'binary784', 'sim', 'sim:preset=ideal', 'task',
         'domain', 'class', 'shared', 'mpcl', 'sgd', 'adam', 'ewc', 'si', 'gem', 'agem', 'none',
         'joint', 'exact', 'fast', 'auto', 'paper', 'ideal', 'worn', 'pos', 'neg', 'true',
         'empirical', 'test', 'train', 'val', '', '1', '0.5', '-1', 'nan', 'inf', '0x10']

class Slot:
    def __init__(self, k): self.k = k

def val(v):
    if v is None: return b'\x00'
    if v is True: return bytes([1 + 11 * 2])   # tag 23: 23 % 11 == 1, bit 16 set
    if v is False: return b'\x01'
    if isinstance(v, Slot): return bytes([10, v.k])
    if isinstance(v, int):
        if -128 <= v < 128: return bytes([2, v & 255])
        return bytes([4]) + struct.pack('<d', float(v))
    if isinstance(v, float): return bytes([4]) + struct.pack('<d', v)
    if isinstance(v, str):
        if v in WORDS: return bytes([6, WORDS.index(v)])
        b = v.encode('latin-1'); return bytes([7, len(b)]) + b
    if isinstance(v, list): v = {i + 1: x for i, x in enumerate(v)}
    if isinstance(v, dict):
        out = bytes([8, len(v)])
        for k, x in v.items():
            out += bytes([2 * KEYS.index(k)]) if k in KEYS else bytes([1]) + val(k)
            out += val(x)
        return out
    raise ValueError(v)

def call(fn, *args, slot=7, self=0):
    out = bytes([CALLS.index(fn)])
    if fn in METHOD: out += bytes([self])
    return out + b''.join(val(a) for a in args) + bytes([slot])

def luaopts_seeds():
    ds, ts, net = Slot(0), Slot(1), Slot(2)
    chip = call('chip.open', 'sim', {'preset': 'ideal', 'rows': 256, 'cols': 64}, slot=4)
    return {
        'net': call('net', {'sizes': [192, 8, 8, 10], 'binary': True}, slot=3) +
               call('sizes', self=3),
        'net-bad': call('net', {'sizes': [0, 2]}) + call('net', {'sizes': 'x', 'seed': -1}),
        'chip-program-infer': chip + call('program', net, {'tol': 0.2}, self=4, slot=5) +
               call('infer', ts, {'p': 16, 'upto': 2}, self=4) +
               call('histogram', {'bins': 10}, self=4) + call('mapping', self=4),
        'chip-map-set-get': chip + call('map', {'rows': 2, 'cols': 2}, self=4) +
               call('set', 'read_noise', 0.5, self=4) + call('get', 'v_read', self=4) +
               call('info', self=4),
        'chip-options': call('chip.open', 'sim:id=3', {'noise': 0.1, 'map': 'x', 'adc_bits': 8,
                                                        'line_solver': 'exact'}),
        'chip-bad-options': call('chip.open', 'sim', {'rows': 'many', 'bogus': 1}),
        'experiment': call('experiment', {'ds': ds, 'hidden': 8, 'epochs': 1, 'rule': 'mpcl'}),
        'experiment-by-name': call('experiment', {'dataset': 'mnist', 'input': 'binary784',
                                                  'hidden': 4, 'groups': [[0, 1], [2, 3]]}),
        'baseline': call('baseline', {'ds': ds, 'method': 'ewc', 'hidden': 8, 'lambda': 0.5}),
        'baseline-bad': call('baseline', {'method': 'gem', 'seq': ts, 'mem': 0}),
        'trainer-evaluate': call('trainer', net, ts, {'rule': 'mpcl', 'm': 0.5}) +
               call('evaluate', net, ts, {'scenario': 'task', 'upto': 2, 'confusion': True}),
        'dataset-tasks': call('dataset', 'mnist', {'input': 'float784', 'threshold': 0.5}, slot=5) +
               call('tasks', Slot(5), {'groups': [[0, 1], [2, 3]], 'val': 0.2}) +
               call('task', 1, self=1),
        'energy-ops': call('energy', net, {'p': 16}) + call('ops', [192, 8, 8, 10],
                                                           {'p': 4, 'adc_channels': 2}),
    }

def main():
    gens = {'idx': idx_seeds, 'store': store_seeds, 'simopts': simopts_seeds, 'map': map_seeds,
            'luaopts': luaopts_seeds}
    names = sys.argv[1:] or list(gens)
    for name in names:
        d = os.path.join('tests/fuzz/corpus', name)
        os.makedirs(d, exist_ok=True)
        for k, v in gens[name]().items():
            with open(os.path.join(d, 'seed-' + k), 'wb') as f:
                f.write(v)
        print('%s: %d seeds in %s' % (name, len(gens[name]()), d))

main()
