//! The PRNG both engines share: xoshiro128** seeded by splitmix32 (see lib/rng.ts). Every
//! operation is on 32-bit integers, and the two float conversions below are exact or correctly
//! rounded in float64, so Rust and JavaScript draw identical streams.
//!
//! One stream is serial by nature, but its state transition is linear over GF(2) (xors, shifts
//! and rotations), so jumping `RUN` draws ahead is a fixed 128 × 128 bit matrix. `fill` uses such
//! matrices to start `LANES` copies of the stream a run apart (`RUN`, or `SMALL_RUN` for short
//! tails) and step them side by side in vector registers: the same draws in the same places,
//! many times faster than one after another.

use std::sync::OnceLock;

use crate::isa::vectorized;
#[cfg(target_arch = "x86_64")]
use crate::isa::{active_isa, Isa};

const TWO_POW_32: f64 = 4_294_967_296.0;

/// One step of splitmix32: (output, next state).
fn splitmix32(state: u32) -> (u32, u32) {
    let next = state.wrapping_add(0x9e37_79b9);
    let mut z = next;
    z = (z ^ (z >> 16)).wrapping_mul(0x85eb_ca6b);
    z = (z ^ (z >> 13)).wrapping_mul(0xc2b2_ae35);
    (z ^ (z >> 16), next)
}

/// The four-word state of stream `stream` for `seed`: words 4·stream … 4·stream+3 of the
/// splitmix32 sequence (stream 0 initialises weights, stream 1 shuffles and drops out).
pub fn seed_state(seed: u32, stream: u32) -> [u32; 4] {
    let mut s = seed;
    for _ in 0..4 * stream {
        s = splitmix32(s).1;
    }
    let mut out = [0u32; 4];
    for word in &mut out {
        let (v, next) = splitmix32(s);
        *word = v;
        s = next;
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    pub state: [u32; 4],
}

impl Rng {
    pub fn new(state: [u32; 4]) -> Self {
        Rng { state }
    }

    pub fn next_u32(&mut self) -> u32 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        result
    }

    /// Advances the stream by `n` draws (what drawing and discarding them would do).
    pub fn skip(&mut self, mut n: usize) {
        while n >= GROUP {
            self.state = jump_by(self.state, group_columns());
            n -= GROUP;
        }
        while n >= RUN {
            self.state = jump(self.state);
            n -= RUN;
        }
        for _ in 0..n {
            self.next_u32();
        }
    }

    /// Writes the next `out.len()` draws to `out`, in order: exactly what as many `next_u32`
    /// calls would return, and the stream ends where they would leave it.
    pub fn fill(&mut self, out: &mut [u32]) {
        let mut groups = out.chunks_exact_mut(GROUP);
        for group in &mut groups {
            self.state = lane(&fill_group::<RUN>(self.state, group, lane_columns()), LANES - 1);
        }
        let tail = groups.into_remainder();
        if tail.len() >= TAIL_FROM_GROUP {
            // A whole group drawn and its first draws kept; the stream goes on from where the
            // lane before the one the tail ends in stopped (at least half the lanes are whole).
            let mut group = vec![0; GROUP];
            let ends = fill_group::<RUN>(self.state, &mut group, lane_columns());
            tail.copy_from_slice(&group[..tail.len()]);
            self.state = advance(lane(&ends, tail.len() / RUN - 1), tail.len() % RUN);
            return;
        }
        // Shorter tails in groups of lanes SMALL_RUN apart: a layer of 32 rows of 128 units
        // draws 4096, which one draw after another took 2.9 µs.
        let mut groups = tail.chunks_exact_mut(SMALL_GROUP);
        for group in &mut groups {
            self.state = lane(&fill_group::<SMALL_RUN>(self.state, group, small_lane_columns()), LANES - 1);
        }
        groups.into_remainder().iter_mut().for_each(|v| *v = self.next_u32());
    }

    /// Uniform in [0, 1): the draw times 2⁻³² (exact in float64).
    pub fn next_f64(&mut self) -> f64 {
        self.next_u32() as f64 / TWO_POW_32
    }

    /// floor(u · bound / 2³²) in float64, as the JS engine computes it.
    pub fn next_below(&mut self, bound: usize) -> usize {
        ((self.next_u32() as f64 * bound as f64) / TWO_POW_32).floor() as usize
    }

    /// Fills `order[..n]` with 0..n, Fisher–Yates shuffled when `shuffle` (the JS engine's order).
    pub fn shuffled_order(&mut self, order: &mut Vec<u32>, n: usize, shuffle: bool) {
        order.clear();
        order.extend(0..n as u32);
        if shuffle {
            for i in (1..n).rev() {
                let j = self.next_below(i + 1);
                order.swap(i, j);
            }
        }
    }
}

/// Copies of the stream `fill` steps side by side (one 512-bit register per state word).
const LANES: usize = 16;

/// Draws between neighbouring lanes. Not a multiple of 1024: lanes 4 KB apart put each block's
/// 16 stores in one L1 set and at one 4 KB offset, and drawing took twice as long.
const RUN: usize = 1040;

/// Lanes of the groups `fill` draws a short tail in: shorter runs, for which starting the lanes
/// weighs more (0.4 ns a draw against 0.16 in GROUP-long groups), but still nearly twice as fast
/// as one draw after another (0.7 ns).
const SMALL_RUN: usize = 128;
const SMALL_GROUP: usize = LANES * SMALL_RUN;

/// The shortest tail `fill` takes from a whole group drawn rather than from small groups: about
/// where the two cost the same (`examples/passes_bench.rs`).
const TAIL_FROM_GROUP: usize = GROUP / 2;

/// Fills `group` (LANES · R long) with the draws from `state` on and returns where each lane
/// stopped: lane l starts l·R draws in (`columns`, the lanes' jump matrices for R) and stops
/// where lane l + 1 began; the last lane stops where the next group begins.
fn fill_group<const R: usize>(state: [u32; 4], group: &mut [u32], columns: &LaneColumns) -> Lanes {
    #[cfg(target_arch = "x86_64")]
    if active_isa() == Isa::Avx512 {
        // SAFETY: the active tier is AVX-512 only on CPUs that have AVX-512F.
        return unsafe { fill_group_avx512::<R>(state, group, columns) };
    }
    vectorized(#[inline(always)] || step_lanes::<R>(lane_starts(state, columns), group, copy_columns::<R>))
}

/// `fill_group` with each block's draws laid out by 16 × 16 register transposes: copied draw by
/// draw, the layout took more time than the draws themselves.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fill_group_avx512<const R: usize>(state: [u32; 4], group: &mut [u32], columns: &LaneColumns) -> Lanes {
    step_lanes::<R>(lane_starts(state, columns), group, |block, out, at| transpose_columns::<R>(block, out, at))
}

/// Steps in a block: the draws land in whole vector stores, BLOCK steps × LANES, before `place`
/// puts each lane's column of the block where it belongs (a scattered store per draw kept the
/// lanes scalar).
const BLOCK: usize = 16;

/// The states of the lanes, a register per word: `[word][lane]`.
type Lanes = [[u32; LANES]; 4];

/// Lane `l`'s state.
fn lane(lanes: &Lanes, l: usize) -> [u32; 4] {
    lanes.map(|words| words[l])
}

/// Steps every lane R times, lane l's draw i going to `out[l·R + i]` (by `place`, a block of
/// steps at a time), and returns the lanes' states.
#[inline(always)]
fn step_lanes<const R: usize>(mut s: Lanes, out: &mut [u32], place: impl Fn(&[[u32; LANES]; BLOCK], &mut [u32], usize)) -> Lanes {
    const { assert!(R.is_multiple_of(BLOCK)) };
    let mut block = [[0u32; LANES]; BLOCK];
    for at in (0..R).step_by(BLOCK) {
        for drawn in block.iter_mut() {
            for l in 0..LANES {
                drawn[l] = s[1][l].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
                let t = s[1][l] << 9;
                s[2][l] ^= s[0][l];
                s[3][l] ^= s[1][l];
                s[1][l] ^= s[2][l];
                s[0][l] ^= s[3][l];
                s[2][l] ^= t;
                s[3][l] = s[3][l].rotate_left(11);
            }
        }
        place(&block, out, at);
    }
    s
}

/// Each lane's column of `block` to its place in `out`, `at` steps into the lanes' runs.
#[inline(always)]
fn copy_columns<const R: usize>(block: &[[u32; LANES]; BLOCK], out: &mut [u32], at: usize) {
    for (l, lane) in out.chunks_exact_mut(R).enumerate() {
        for (o, drawn) in lane[at..at + BLOCK].iter_mut().zip(block) {
            *o = drawn[l];
        }
    }
}

/// `copy_columns` 16 steps at a time: a transpose turns 16 steps of all lanes into 16 draws of
/// each lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose_columns<const R: usize>(block: &[[u32; LANES]; BLOCK], out: &mut [u32], at: usize) {
    use std::arch::x86_64::*;
    const { assert!(LANES == 16 && BLOCK.is_multiple_of(16)) };
    for first in (0..BLOCK).step_by(16) {
        let mut steps = [_mm512_setzero_ps(); 16];
        for (i, step) in steps.iter_mut().enumerate() {
            // SAFETY: a step's LANES draws are 16 u32s, read as the bits of 16 f32s.
            *step = unsafe { _mm512_loadu_ps(block[first + i].as_ptr().cast()) };
        }
        let lanes = crate::transpose::transpose16(steps);
        for (lane, draws) in out.chunks_exact_mut(R).zip(lanes) {
            let to = &mut lane[at + first..at + first + 16];
            // SAFETY: `to` holds 16 u32s; the transpose moved bits, never converted them.
            unsafe { _mm512_storeu_ps(to.as_mut_ptr().cast(), draws) };
        }
    }
}

/// Where the lanes of a group start: lane l at the state l·R draws after `state`. Each word of
/// each lane is the xor of its jump matrix's columns (`columns`, for R) for the state's set bits,
/// all lanes at once; jumping lane after lane had taken LANES − 1 jumps in a row per group.
#[inline(always)]
fn lane_starts(state: [u32; 4], columns: &LaneColumns) -> Lanes {
    let mut lanes = [[0u32; LANES]; 4];
    for (bit, column) in columns.iter().enumerate() {
        let on = 0u32.wrapping_sub((state[bit / 32] >> (bit % 32)) & 1);
        for (words, column) in lanes.iter_mut().zip(column) {
            words.iter_mut().zip(column).for_each(|(w, &c)| *w ^= c & on);
        }
    }
    lanes
}

/// Column `bit` of every lane's jump matrix for some run R, as `[bit][word][lane]`: word `word`
/// of the state `lane`·R draws after the state with only that bit set (lane 0's matrix is the
/// identity).
type LaneColumns = [[[u32; LANES]; 4]; 128];

/// The lanes' jump matrices for RUN.
fn lane_columns() -> &'static LaneColumns {
    static COLUMNS: OnceLock<LaneColumns> = OnceLock::new();
    COLUMNS.get_or_init(|| lanes_by(jump_columns()))
}

/// The lanes' jump matrices for SMALL_RUN.
fn small_lane_columns() -> &'static LaneColumns {
    static COLUMNS: OnceLock<LaneColumns> = OnceLock::new();
    COLUMNS.get_or_init(|| lanes_by(&columns(|state| advance(state, SMALL_RUN))))
}

/// The lanes' jump matrices for lanes one `jump` (a jump matrix) apart.
fn lanes_by(jump: &[[u32; 4]; 128]) -> LaneColumns {
    let mut table = [[[0u32; LANES]; 4]; 128];
    for (bit, column) in table.iter_mut().enumerate() {
        let mut state = [0u32; 4];
        state[bit / 32] = 1 << (bit % 32);
        for l in 0..LANES {
            for (words, &w) in column.iter_mut().zip(&state) {
                words[l] = w;
            }
            state = jump_by(state, jump);
        }
    }
    table
}

/// The state `n` draws after `state`, drawn one by one.
fn advance(state: [u32; 4], n: usize) -> [u32; 4] {
    let mut rng = Rng::new(state);
    (0..n).for_each(|_| {
        rng.next_u32();
    });
    rng.state
}

/// Draws in one of `fill`'s groups, and the longer jump `skip` takes: a thread that fills the
/// second half of a layer's draws gets there in a few jumps rather than dozens.
pub const GROUP: usize = LANES * RUN;

/// The state RUN draws after `state`.
fn jump(state: [u32; 4]) -> [u32; 4] {
    jump_by(state, jump_columns())
}

/// The state a jump matrix takes `state` to: the xor of its columns for the state's set bits.
fn jump_by(state: [u32; 4], columns: &[[u32; 4]; 128]) -> [u32; 4] {
    let mut out = [0u32; 4];
    for (bit, column) in columns.iter().enumerate() {
        let on = 0u32.wrapping_sub((state[bit / 32] >> (bit % 32)) & 1);
        (0..4).for_each(|w| out[w] ^= column[w] & on);
    }
    out
}

/// The RUN-draw jump matrix: column `bit` is where the state with only that bit set goes in RUN
/// draws (the transition is linear, so any state's image is the xor of its bits' images).
fn jump_columns() -> &'static [[u32; 4]; 128] {
    static COLUMNS: OnceLock<[[u32; 4]; 128]> = OnceLock::new();
    COLUMNS.get_or_init(|| columns(|state| advance(state, RUN)))
}

/// The jump matrix for GROUP draws: LANES jumps of RUN.
fn group_columns() -> &'static [[u32; 4]; 128] {
    static COLUMNS: OnceLock<[[u32; 4]; 128]> = OnceLock::new();
    COLUMNS.get_or_init(|| columns(|state| (0..LANES).fold(state, |s, _| jump(s))))
}

/// The matrix of a linear map of states, from its images of the 128 one-bit states.
fn columns(image: impl Fn([u32; 4]) -> [u32; 4]) -> [[u32; 4]; 128] {
    std::array::from_fn(|bit| {
        let mut basis = [0u32; 4];
        basis[bit / 32] = 1 << (bit % 32);
        image(basis)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fill` and `skip` give exactly the serial stream, around and across lane groups, with
    /// tails drawn in small groups and one by one, or from a whole group (ending at a lane's
    /// start, inside its run and in the last lane).
    #[test]
    fn filling_and_skipping_match_drawing_one_by_one() {
        let small = [0, 5, SMALL_GROUP - 1, SMALL_GROUP, SMALL_GROUP + 1, 3 * SMALL_GROUP + 77, TAIL_FROM_GROUP - 1];
        let whole = [TAIL_FROM_GROUP, 9 * RUN, 9 * RUN + 3, GROUP - 1];
        let groups = [GROUP, 2 * GROUP + 777, 2 * GROUP + 3 * SMALL_GROUP, 2 * GROUP + 11 * RUN + 11];
        for n in small.into_iter().chain(whole).chain(groups) {
            let mut serial = Rng::new(seed_state(99, 1));
            let want: Vec<u32> = (0..n).map(|_| serial.next_u32()).collect();
            let mut filled = Rng::new(seed_state(99, 1));
            let mut got = vec![0; n];
            filled.fill(&mut got);
            assert!(got == want, "fill of {n} draws differs");
            assert_eq!(filled, serial, "fill of {n} draws leaves the stream elsewhere");
            let mut skipped = Rng::new(seed_state(99, 1));
            skipped.skip(n);
            assert_eq!(skipped, serial, "skip of {n} draws");
        }
    }

    #[test]
    fn reference_stream_from_1234() {
        // The published xoshiro128** outputs from state [1, 2, 3, 4] (also in __test__/golden/rng.json).
        let mut r = Rng::new([1, 2, 3, 4]);
        let got: Vec<u32> = (0..8).map(|_| r.next_u32()).collect();
        assert_eq!(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
    }

    #[test]
    fn seeds_and_shuffles_like_the_js_engine() {
        // Values from __test__/golden/rng.json (the independent Python reference).
        assert_eq!(seed_state(42, 1), [527392959, 2701967985, 564296667, 2115472622]);
        assert_eq!(seed_state(4294967295, 0), [920564995, 4230986166, 697614773, 1778835764]);
        let mut r = Rng::new(seed_state(7, 1));
        let mut order = Vec::new();
        r.shuffled_order(&mut order, 20, true);
        assert_eq!(order, [5, 17, 11, 14, 8, 19, 18, 7, 2, 15, 12, 0, 4, 6, 9, 1, 10, 3, 16, 13]);
    }
}
