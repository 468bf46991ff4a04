//! `--live-cpus`: which CPUs the live fan-out runs on. Why it is confined at all is in
//! `cpus.rs` and docs/BENCHMARKS.md.

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
    fn bad_lists_say_what_is_wrong() {
        assert!("auto".parse::<LiveCpus>().is_ok());
        let err = "1,x".parse::<LiveCpus>().unwrap_err();
        assert!(err.contains("`x`"), "{err}");
        let err = "3-1".parse::<LiveCpus>().unwrap_err();
        assert!(err.contains("backwards"), "{err}");
    }
}
