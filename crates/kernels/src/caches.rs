//! The data caches' sizes, read once from CPUID on x86-64: the GEMM sizes its blocks from them
//! (see `gemm::block::blocks`), and the `peak` example reports them.

use std::sync::OnceLock;

/// One data (or unified) cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cache {
    pub level: u32,
    pub bytes: u64,
    /// Logical processors sharing it, at most (CPUID's count).
    pub shared_by: u32,
}

/// This CPU's data caches, smallest level first (empty where CPUID does not describe them).
pub fn data_caches() -> &'static [Cache] {
    static CACHES: OnceLock<Vec<Cache>> = OnceLock::new();
    CACHES.get_or_init(read)
}

/// One core's share of the data cache at `level`, in bytes, if CPUID describes it.
pub fn per_core(level: u32) -> Option<u64> {
    data_caches().iter().find(|c| c.level == level).map(|c| c.bytes / c.shared_by.max(1) as u64)
}

#[cfg(target_arch = "x86_64")]
fn read() -> Vec<Cache> {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    // SAFETY: CPUID is available on every x86-64 CPU. (Newer Rust declares these intrinsics safe;
    // the block keeps older toolchains building.)
    #[allow(unused_unsafe)]
    let (max_leaf, vendor) = unsafe {
        let r = __cpuid(0);
        (r.eax, [r.ebx, r.edx, r.ecx])
    };
    // Leaf 4 is Intel's; AMD reports the same layout in 0x8000001D. Both exist on current AMD.
    let leaf = if vendor == [0x6874_7541, 0x6974_6e65, 0x444d_4163] { 0x8000_001d } else { 4 };
    // SAFETY: as above.
    #[allow(unused_unsafe)]
    let max_extended = unsafe { __cpuid(0x8000_0000).eax };
    if (leaf == 4 && max_leaf < 4) || (leaf != 4 && max_extended < leaf) {
        return legacy_or_none(max_extended);
    }
    let mut out = Vec::new();
    for i in 0..16 {
        // SAFETY: as above.
        #[allow(unused_unsafe)]
        let r = unsafe { __cpuid_count(leaf, i) };
        let kind = r.eax & 0x1f;
        if kind == 0 {
            break;
        }
        if kind == 2 {
            continue; // instruction cache
        }
        let ways = ((r.ebx >> 22) & 0x3ff) as u64 + 1;
        let partitions = ((r.ebx >> 12) & 0x3ff) as u64 + 1;
        let line = (r.ebx & 0xfff) as u64 + 1;
        let sets = r.ecx as u64 + 1;
        out.push(Cache { level: (r.eax >> 5) & 0x7, bytes: ways * partitions * line * sets, shared_by: ((r.eax >> 14) & 0xfff) + 1 });
    }
    if out.is_empty() {
        // Hypervisors may hide leaf 0x8000001D (its topology-extensions flag cleared): an AMD EPYC
        // guest here read zeros there, and its GEMM fell back to constant block sizes.
        return legacy_or_none(max_extended);
    }
    out.sort_by_key(|c| c.level);
    out
}

/// The caches AMD's older leaves 0x80000005 (L1) and 0x80000006 (L2) describe, where they exist.
#[cfg(target_arch = "x86_64")]
fn legacy_or_none(max_extended: u32) -> Vec<Cache> {
    use std::arch::x86_64::__cpuid;
    if max_extended < 0x8000_0006 {
        return Vec::new();
    }
    // SAFETY: CPUID is available on every x86-64 CPU, and these leaves are within its range.
    #[allow(unused_unsafe)]
    let (l1, l2) = unsafe { (__cpuid(0x8000_0005), __cpuid(0x8000_0006)) };
    legacy(l1.ecx, l2.ecx)
}

/// Decodes the legacy leaves' registers: 0x80000005 ECX (L1 data: KB in bits 31–24) and
/// 0x80000006 ECX (L2: KB in bits 31–16), each a core's own on every AMD design. The L3 (EDX of
/// 0x80000006) is left out: these leaves do not say how many cores share it, and the guest here
/// read 508 MB. Intel fills in only the L2 here; a size of zero means not reported.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn legacy(l1_ecx: u32, l2_ecx: u32) -> Vec<Cache> {
    let sizes = [(1, (l1_ecx >> 24) as u64 * 1024), (2, (l2_ecx >> 16) as u64 * 1024)];
    sizes.into_iter().filter(|&(_, bytes)| bytes > 0).map(|(level, bytes)| Cache { level, bytes, shared_by: 1 }).collect()
}

#[cfg(not(target_arch = "x86_64"))]
fn read() -> Vec<Cache> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registers an AMD EPYC (Zen 5) guest returned, whose leaf 0x8000001D was zeros:
    /// 48 KB L1d (0x30 in ECX of 0x80000005) and 1 MB L2 (0x400 in ECX of 0x80000006).
    #[test]
    fn legacy_leaves_decode_as_amd_documents_them() {
        let caches = legacy(0x300c_0140, 0x0400_6140);
        let sizes: Vec<(u32, u64)> = caches.iter().map(|c| (c.level, c.bytes)).collect();
        assert_eq!(sizes, [(1, 48 << 10), (2, 1 << 20)]);
        assert!(caches.iter().all(|c| c.shared_by == 1));
        // Intel reports only the L2 in these leaves: the L1 is zero and left out.
        assert_eq!(legacy(0, 0x0800_6040).iter().map(|c| (c.level, c.bytes)).collect::<Vec<_>>(), [(2, 2 << 20)]);
    }

    #[test]
    fn caches_are_plausible_when_described() {
        for c in data_caches() {
            assert!((1..=4).contains(&c.level), "{c:?}");
            assert!(c.bytes >= 1024, "{c:?}");
            assert!(c.shared_by >= 1, "{c:?}");
        }
        if let (Some(l1), Some(l2)) = (per_core(1), per_core(2)) {
            assert!(l1 < l2, "L1 {l1} ≥ L2 {l2}");
        }
    }
}
