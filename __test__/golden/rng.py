"""Independent reference for the shared PRNG (xoshiro128** seeded by splitmix32), written from
the published algorithms with Python integers masked to 32 bits.
Run: python3 __test__/golden/rng.py > __test__/golden/rng.json"""
import json

M = 0xFFFFFFFF


def splitmix32(state):
    state = (state + 0x9E3779B9) & M
    z = state
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M
    return (z ^ (z >> 16)) & M, state


def seed_state(seed, stream):
    s = seed & M
    for _ in range(4 * stream):
        _, s = splitmix32(s)
    out = []
    for _ in range(4):
        v, s = splitmix32(s)
        out.append(v)
    return out


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M


class Xoshiro128ss:
    def __init__(self, s):
        self.s = list(s)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 9) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def below(self, bound):
        # floor(u * bound / 2^32) in float64, as both engines compute it
        return int((float(self.next()) * float(bound)) / 4294967296.0 // 1)


out = {}
# The reference vector of xoshiro128** from state [1, 2, 3, 4].
r = Xoshiro128ss([1, 2, 3, 4])
out["fromState1234"] = [r.next() for _ in range(8)]
out["seedState"] = {str(seed): [seed_state(seed, 0), seed_state(seed, 1)] for seed in (0, 7, 42, 4294967295)}
r = Xoshiro128ss(seed_state(42, 1))
out["seed42stream1"] = [r.next() for _ in range(8)]
r = Xoshiro128ss(seed_state(7, 1))
perm = list(range(20))
for i in range(19, 0, -1):
    j = r.below(i + 1)
    perm[i], perm[j] = perm[j], perm[i]
out["shuffle20seed7"] = perm
print(json.dumps(out, indent=1))
