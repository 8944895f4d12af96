//! Chooses, by timing batches, whether a network whose layers are neither small nor large trains
//! faster on one thread or on all of them.
//!
//! For mid-sized layers (1–16M multiply-adds a product) the answer is not in the shapes: it
//! depends on where the cores sit. Measured on a virtual machine whose host moves its two
//! vCPUs between one die and two: with the vCPUs on one die, 784-64-10 at batch 64 trained
//! 1.5× faster on two threads than on one and 256-256-256-10 at 32 1.6×; with them on two
//! dies, 1024-32-10 at 64 trained 11% slower on two and 128-128-128-10 at 128 18% slower. A
//! threshold on the shapes must lose one of the two, and the host may switch within a run.
//!
//! Results do not depend on the thread count (every split keeps the order of every sum), so
//! the choice can change from batch to batch without changing a bit. Every `CYCLE` batches of
//! one batch size, the tuner runs a probe: runs of `RUN` batches, alternately on one thread and
//! on all, twice each, interleaved so that a change in the machine's load hits both settings.
//! It compares the median of each setting's times, leaving out the first `SETTLE` batches of
//! each run: a batch after a switch pays for moving the network's data to its new cores
//! (128-128-128-10 at batch 128: 230 µs on one thread right after two, against 175 µs in a run
//! on one), which training on that setting in steady state does not. The median, not the sum: a
//! batch the host interrupted (1.3 ms among batches of 0.25 on two threads, 256-256-256-10 at
//! 64) made the sum choose one thread, 25% slower, for a whole cycle. The rest of the cycle
//! trains on the faster.
//!
//! A probe costs about eight batches on the slower setting and four switches, 3–5% of a cycle
//! of 256 batches: with the vCPUs on one die, 256-256-256-10 at batch 64 trained 3–5% slower
//! tuned than on two threads throughout (330k against 343k samples/s), 784-256-128-10 at 64 4%.
//! So each probe that confirms the choice doubles the next cycle, up to `MAX_CYCLE` (a probe's
//! cost then 0.2%), and a probe that changes it starts again from `CYCLE`: 256-256-256-10 at 64
//! then trained 334–347k samples/s in its later epochs, against 315–332k with a probe every 256
//! batches (one die, interleaved). The longest cycle is a second or two of training at these
//! sizes, against minutes between the host's moves.

/// Batches in each run of a probe, and the first of them not counted.
const RUN: usize = 4;
const SETTLE: usize = 2;

/// Batches of each probe: four runs.
const PROBE: usize = 4 * RUN;

/// Batches from one probe's start to the next after the first probe and after any probe that
/// changed the choice; each probe that confirms it doubles that, up to `MAX_CYCLE` (four in a
/// row reach it).
const CYCLE: usize = 256;
const MAX_CYCLE: usize = 16 * CYCLE;

/// A batch size this far from the tuned one for this many batches in a row starts tuning anew
/// (fewer are an epoch's short last batch, which trains on the current choice untimed).
const NEW_SIZE_AFTER: usize = 3;

/// The tuner's state for one network.
#[derive(Clone, Debug)]
pub struct ThreadTuner {
    /// The batch size being tuned.
    rows: usize,
    /// Batches of `rows` rows trained since tuning began.
    batches: usize,
    /// Consecutive batches of another size.
    strays: usize,
    /// This probe's counted batches on one thread and on all, in seconds.
    times: [Vec<f64>; 2],
    /// The current choice: all threads.
    many: bool,
    /// Batches into the current cycle (its probe first), and the cycle's length.
    at: usize,
    cycle: usize,
}

impl Default for ThreadTuner {
    fn default() -> Self {
        ThreadTuner { rows: 0, batches: 0, strays: 0, times: [Vec::new(), Vec::new()], many: true, at: 0, cycle: CYCLE }
    }
}

impl ThreadTuner {
    /// Batches of the tuned size trained since tuning began.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Whether the next batch, of `rows` rows, trains on all threads.
    pub fn choose(&mut self, rows: usize) -> bool {
        if rows != self.rows {
            self.strays += 1;
            if self.strays < NEW_SIZE_AFTER && self.rows != 0 {
                return self.many;
            }
            *self = ThreadTuner { rows, ..ThreadTuner::default() };
        }
        self.strays = 0;
        match self.at {
            b if b < PROBE => (b / RUN) % 2 == 1,
            _ => self.many,
        }
    }

    /// Records that the batch `choose` was last asked about (of `rows` rows, on all threads if
    /// `many`) took `seconds`.
    pub fn record(&mut self, rows: usize, many: bool, seconds: f64) {
        if rows != self.rows {
            return;
        }
        let b = self.at;
        if b == 0 {
            self.times.iter_mut().for_each(Vec::clear);
        }
        if b < PROBE && b % RUN >= SETTLE {
            self.times[many as usize].push(seconds);
        }
        if b == PROBE - 1 {
            let [one, all] = self.times.each_mut().map(|times| median(times));
            let first = self.batches < CYCLE;
            self.cycle = if !first && (all < one) == self.many { (2 * self.cycle).min(MAX_CYCLE) } else { CYCLE };
            self.many = all < one;
        }
        self.batches += 1;
        self.at = (self.at + 1) % self.cycle;
    }
}

/// The middle of `times` (the mean of the middle two for an even count).
fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    match n {
        0 => f64::INFINITY,
        _ if n % 2 == 1 => times[n / 2],
        _ => (times[n / 2 - 1] + times[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trains `batches` batches of `rows` rows whose time on one thread and on all is given,
    /// returning the choices made.
    fn run(tuner: &mut ThreadTuner, rows: usize, batches: usize, time: impl Fn(usize, bool) -> f64) -> Vec<bool> {
        (0..batches)
            .map(|i| {
                let many = tuner.choose(rows);
                tuner.record(rows, many, time(i, many));
                many
            })
            .collect()
    }

    #[test]
    fn probes_in_alternate_runs_then_trains_on_the_faster_setting_until_the_next_probe() {
        let probe: Vec<bool> = (0..PROBE).map(|b| (b / RUN) % 2 == 1).collect();
        assert_eq!(probe[..2 * RUN].iter().filter(|&&m| m).count(), RUN);
        // One thread faster in steady state; the first batches of each run (after a switch)
        // are slow on one thread and are not counted.
        let time = |i: usize, many: bool| if i % RUN < SETTLE && !many { 5.0 } else if many { 1.2 } else { 1.0 };
        let mut tuner = ThreadTuner::default();
        let choices = run(&mut tuner, 64, CYCLE + PROBE + 5, time);
        assert_eq!(choices[..PROBE], probe[..]);
        assert!(choices[PROBE..CYCLE].iter().all(|&m| !m), "one thread after the probe");
        assert_eq!(choices[CYCLE..CYCLE + PROBE], probe[..], "probes again after a cycle");
        // The host changes: all threads are now faster, and the next probe finds it.
        let mut tuner = ThreadTuner::default();
        let choices = run(&mut tuner, 64, 2 * CYCLE, |i, many| if (i < CYCLE) == many { 1.3 } else { 1.0 });
        assert!(choices[PROBE..CYCLE].iter().all(|&m| !m));
        assert!(choices[CYCLE + PROBE..].iter().all(|&m| m));
    }

    /// The host moves the cores at batch `MOVE`: all threads are faster before it, one after.
    #[test]
    fn probes_that_confirm_the_choice_come_ever_further_apart_and_one_that_changes_it_brings_them_back() {
        const MOVE: usize = 20_000;
        let mut tuner = ThreadTuner::default();
        let (mut starts, mut choices) = (Vec::new(), Vec::new());
        for i in 0..22_000 {
            if tuner.at == 0 {
                starts.push(i);
            }
            let many = tuner.choose(64);
            tuner.record(64, many, if (i < MOVE) == many { 1.0 } else { 1.5 });
            choices.push(many);
        }
        // Cycles of 256, 512, …, 4096 batches, then 4096 until the probe after the move, which
        // changes the choice: 256 again, then 512.
        assert_eq!(starts, [0, 256, 768, 1792, 3840, 7936, 12032, 16128, 20224, 20480, 20992]);
        let probing = |i: usize| starts.iter().any(|&s| (s..s + PROBE).contains(&i));
        assert!((PROBE..20224).filter(|&i| !probing(i)).all(|i| choices[i]), "all threads between the probes before the move");
        assert!(choices[20224 + PROBE..20480].iter().all(|&m| !m), "one thread once a probe has seen the move");
    }

    /// One batch the host interrupted, on the faster setting, does not decide the probe.
    #[test]
    fn an_interrupted_batch_does_not_decide_the_probe() {
        let counted = |i: usize, many: bool| (i % RUN >= SETTLE && many).then_some(i);
        let last_counted_on_all = (0..PROBE).rev().find_map(|i| counted(i, (i / RUN) % 2 == 1)).unwrap();
        let time = |i: usize, many: bool| if i == last_counted_on_all { 5.0 } else if many { 0.8 } else { 1.0 };
        let mut tuner = ThreadTuner::default();
        let choices = run(&mut tuner, 64, CYCLE, time);
        assert!(choices[PROBE..].iter().all(|&m| m), "all threads after the probe");
    }

    #[test]
    fn a_short_last_batch_keeps_the_choice_and_a_new_batch_size_is_tuned_anew() {
        let mut tuner = ThreadTuner::default();
        run(&mut tuner, 64, PROBE, |_, many| if many { 2.0 } else { 1.0 });
        assert!(!tuner.choose(64));
        tuner.record(64, false, 1.0);
        // An epoch's last batch: untimed, on the current choice, and tuning goes on after it.
        assert!(!tuner.choose(17));
        tuner.record(17, false, 0.3);
        assert_eq!((tuner.rows, tuner.batches), (64, PROBE + 1));
        assert!(!tuner.choose(64));
        // A new batch size for several batches in a row: a new probe, from its first run.
        let choices = run(&mut tuner, 128, NEW_SIZE_AFTER + RUN, |_, _| 1.0);
        assert_eq!(tuner.rows, 128);
        assert_eq!(choices[NEW_SIZE_AFTER - 1..], [false, false, false, false, true]);
    }
}
