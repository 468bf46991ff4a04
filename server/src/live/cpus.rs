//! Which CPUs the fan-out runs on (`--live-cpus`).
//!
//! Ingest's ceiling is one database backend inserting and committing in seq order (the hash
//! chain needs that order), so ingest is as fast as that backend's share of one core. A lower
//! priority alone did not protect it: at nice 10 the fan-out still ran on both cores between
//! the backend's turns, and with 200 receiving streams on a 2-core machine ingest lost 40–46%
//! (livebench). Confined to the upper half of the CPUs, the fan-out leaves the lower half to
//! ingest, and ingest's writer thread keeps to that half while the fan-out is busy
//! (`runtime::WriterCpus`): it takes turns with that backend, and on the fan-out's core its
//! turns waited. With both, and the benchmark's clients beside the fan-out at its priority
//! (standing in for browsers on other machines), ingest is within 10% of its rate without
//! clients: −0.1% and −0.5% (two runs, each the mean of three 10 s floods), +7.9% (the mean of
//! two 30 s floods). The price: in a flood the stream falls behind and catches up afterwards,
//! from the database when it is far behind.

use std::fmt;
use std::str::FromStr;

/// Where the fan-out threads may run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LiveCpus {
    /// The upper half of the CPUs this process may use; anywhere when there are fewer than 2.
    #[default]
    Auto,
    /// Anywhere the scheduler likes.
    All,
    /// These CPUs (as numbered by the kernel).
    List(Vec<usize>),
}

impl LiveCpus {
    /// The CPUs to pin to, given those the process may use; `None`: do not pin.
    pub fn resolve(&self, allowed: &[usize]) -> Option<Vec<usize>> {
        match self {
            LiveCpus::All => None,
            LiveCpus::Auto if allowed.len() < 2 => None,
            LiveCpus::Auto => Some(allowed[allowed.len() / 2..].to_vec()),
            LiveCpus::List(cpus) => {
                let usable: Vec<usize> = (cpus.iter().copied())
                    .filter(|cpu| allowed.contains(cpu))
                    .collect();
                (!usable.is_empty()).then_some(usable)
            }
        }
    }
}

impl FromStr for LiveCpus {
    type Err = String;

    /// `auto`, `all`, or a list of CPUs and ranges such as `1` or `2-3,6`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "auto" => return Ok(LiveCpus::Auto),
            "all" => return Ok(LiveCpus::All),
            _ => {}
        }
        let mut cpus = Vec::new();
        for part in text.split(',').map(str::trim) {
            let number = |n: &str| {
                n.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("`{part}` is not a CPU number or a range like 2-3"))
            };
            match part.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (number(first)?, number(last)?);
                    if first > last {
                        return Err(format!("`{part}`: the range runs backwards"));
                    }
                    cpus.extend(first..=last);
                }
                None => cpus.push(number(part)?),
            }
        }
        cpus.sort_unstable();
        cpus.dedup();
        Ok(LiveCpus::List(cpus))
    }
}

impl fmt::Display for LiveCpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveCpus::Auto => f.write_str("auto"),
            LiveCpus::All => f.write_str("all"),
            LiveCpus::List(cpus) => {
                let names: Vec<String> = cpus.iter().map(usize::to_string).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// The CPUs the calling thread may run on (all of them where this cannot be asked).
pub fn allowed() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the set is a plain bit array the kernel fills; its size is passed along.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut set) == 0 {
                return (0..libc::CPU_SETSIZE as usize)
                    .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
                    .collect();
            }
        }
    }
    (0..std::thread::available_parallelism().map_or(1, usize::from)).collect()
}

/// The CPUs of `allowed` not in `taken`; `None` if there are none.
pub fn all_but(allowed: &[usize], taken: &[usize]) -> Option<Vec<usize>> {
    let rest: Vec<usize> = (allowed.iter().copied())
        .filter(|cpu| !taken.contains(cpu))
        .collect();
    (!rest.is_empty()).then_some(rest)
}

/// Confines the calling thread to `cpus`; false if the kernel refused.
pub fn pin_current_thread(cpus: &[usize]) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as above; 0 names the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in cpus {
                libc::CPU_SET(cpu, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpus;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_the_upper_half_and_leaves_a_single_cpu_alone() {
        assert_eq!(LiveCpus::Auto.resolve(&[0, 1]), Some(vec![1]));
        assert_eq!(
            LiveCpus::Auto.resolve(&[0, 1, 2, 3, 4]),
            Some(vec![2, 3, 4])
        );
        assert_eq!(LiveCpus::Auto.resolve(&[4, 6]), Some(vec![6]));
        assert_eq!(LiveCpus::Auto.resolve(&[3]), None);
        assert_eq!(LiveCpus::All.resolve(&[0, 1]), None);
    }

    #[test]
    fn lists_keep_only_cpus_the_process_may_use() {
        let list: LiveCpus = "3,0-1".parse().unwrap();
        assert_eq!(list, LiveCpus::List(vec![0, 1, 3]));
        assert_eq!(list.resolve(&[0, 1]), Some(vec![0, 1]));
        assert_eq!(list.resolve(&[2]), None, "none usable: not pinned");
        assert_eq!(list.to_string(), "0,1,3");
    }

    #[test]
    fn what_the_fan_out_leaves_is_the_rest() {
        assert_eq!(all_but(&[0, 1], &[1]), Some(vec![0]));
        assert_eq!(all_but(&[0, 1, 2, 3], &[2, 3, 7]), Some(vec![0, 1]));
        assert_eq!(all_but(&[0, 1], &[0, 1]), None);
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        assert!("auto".parse::<LiveCpus>().is_ok());
        let err = "1,x".parse::<LiveCpus>().unwrap_err();
        assert!(err.contains("`x`"), "{err}");
        let err = "3-1".parse::<LiveCpus>().unwrap_err();
        assert!(err.contains("backwards"), "{err}");
    }

    #[test]
    fn a_thread_pinned_to_one_allowed_cpu_reports_only_it() {
        let allowed = allowed();
        assert!(!allowed.is_empty());
        let last = *allowed.last().unwrap();
        let seen = std::thread::spawn(move || {
            assert!(pin_current_thread(&[last]));
            super::allowed()
        })
        .join()
        .unwrap();
        assert_eq!(seen, vec![last]);
    }
}
