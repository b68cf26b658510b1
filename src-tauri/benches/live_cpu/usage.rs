//! What a process tree costs, from `/proc`: CPU time per process and per
//! thread (utime + stime, in clock ticks), page faults per process, and
//! proportional set size; and, to tell a window measured on a busy machine,
//! what the rest of the machine did meanwhile (`/proc/stat`).
//!
//! A [`Snapshot`] is taken at each end of a window; [`Usage::between`] turns
//! two into shares of one core (100 % = one core busy for the whole window).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::support::webdriver::process_name;

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The fields of `/proc/<pid>/stat` after the command name.
fn stat_fields(path: &str) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(path).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces, so cut after ')'.
    let rest = stat.rsplit_once(')')?.1;
    Some(
        rest.split_whitespace()
            .skip(1) // the state letter
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// `ppid` is the first field after the state; minflt and majflt are fields
/// 10 and 12 of the whole line; utime, stime, cutime and cstime are fields
/// 14–17 (11–14 here, after the state).
const PPID: usize = 0;
const MINFLT: usize = 6;
const MAJFLT: usize = 8;
const UTIME: usize = 10;
const STIME: usize = 11;
const CUTIME: usize = 12;
const CSTIME: usize = 13;

/// How many times a thread went to sleep of its own accord (blocked or
/// slept, then was woken): `voluntary_ctxt_switches` in its `status`.
fn sleeps_of(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn name_of(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|n| n.trim_end().to_owned())
        .unwrap_or_default()
}

/// `root` and every process below it, with their names.
pub fn tree(root: u32) -> Vec<(u32, String)> {
    let mut parent = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(f) = stat_fields(&format!("/proc/{pid}/stat")) {
            parent.insert(pid, f[PPID] as u32);
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out.into_iter()
        .filter_map(|pid| Some((pid, process_name(pid)?)))
        .collect()
}

/// Proportional set size of `pid` in KiB (`/proc/<pid>/smaps_rollup`).
pub fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One process at one moment.
#[derive(Debug, Clone)]
struct ProcessTimes {
    name: String,
    /// Its own utime + stime.
    own: u64,
    /// cutime + cstime: children it has waited for (e.g. a speech synthesizer
    /// run to completion).
    reaped: u64,
    /// Page faults that needed no I/O, and those that did.
    minor_faults: u64,
    major_faults: u64,
    /// Each thread's name, utime + stime and voluntary sleeps.
    threads: BTreeMap<u32, (String, u64, u64)>,
    /// Its proportional set size then, KiB.
    pss_kib: u64,
}

/// The whole machine's CPU time, clock ticks summed over its cores.
#[derive(Debug, Clone, Copy, Default)]
struct MachineTimes {
    /// Running anything: user, nice, system, irq and softirq.
    busy: u64,
    /// Wanted to run but the hypervisor ran something else.
    steal: u64,
}

impl MachineTimes {
    /// `/proc/stat`'s first line: `cpu user nice system idle iowait irq
    /// softirq steal …` (guest time is inside user already).
    fn read() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let f: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let at = |i: usize| f.get(i).copied().unwrap_or(0);
        Self {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            steal: at(7),
        }
    }
}

/// CPU times of a set of processes, and of the machine, at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    procs: BTreeMap<u32, ProcessTimes>,
    machine: MachineTimes,
}

impl Snapshot {
    /// Reads the times of `pids` (and of the threads of those in
    /// `threads_of`).
    pub fn take(pids: &[(u32, String)], threads_of: &[u32]) -> Self {
        let at = Instant::now();
        let mut procs = BTreeMap::new();
        for (pid, name) in pids {
            let Some(f) = stat_fields(&format!("/proc/{pid}/stat")) else {
                continue;
            };
            let mut threads = BTreeMap::new();
            if threads_of.contains(pid) {
                let dir = format!("/proc/{pid}/task");
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                        continue;
                    };
                    if let Some(t) = stat_fields(&format!("{dir}/{tid}/stat")) {
                        let name = name_of(&format!("{dir}/{tid}/comm"));
                        let sleeps = sleeps_of(&format!("{dir}/{tid}/status"));
                        threads.insert(tid, (name, t[UTIME] + t[STIME], sleeps));
                    }
                }
            }
            procs.insert(
                *pid,
                ProcessTimes {
                    name: name.clone(),
                    own: f[UTIME] + f[STIME],
                    reaped: f[CUTIME] + f[CSTIME],
                    minor_faults: f[MINFLT],
                    major_faults: f[MAJFLT],
                    threads,
                    pss_kib: pss_kib(*pid),
                },
            );
        }
        Self {
            at,
            procs,
            machine: MachineTimes::read(),
        }
    }
}

/// One process's share of a core over a window.
#[derive(Debug, Clone)]
pub struct ProcessUsage {
    pub pid: u32,
    pub name: String,
    /// Its own threads, % of one core.
    pub cpu: f64,
    /// Children it reaped during the window, % of one core.
    pub reaped: f64,
    /// Page faults a second that needed no I/O (a page first touched, or
    /// mapped again), and those that read from disk.
    pub minor_faults: f64,
    pub major_faults: f64,
    pub pss_kib: u64,
}

/// One thread's share of a core over a window.
#[derive(Debug, Clone)]
pub struct ThreadUsage {
    /// The process it belongs to.
    pub pid: u32,
    pub tid: u32,
    pub name: String,
    pub cpu: f64,
    /// Times per second it slept and was woken again.
    pub wakeups: f64,
}

/// What a window cost.
#[derive(Debug, Clone)]
pub struct Usage {
    /// The process the tree was taken from (the app).
    pub root: u32,
    pub processes: Vec<ProcessUsage>,
    /// The threads of the processes named in `Snapshot::take`, busiest
    /// first.
    pub threads: Vec<ThreadUsage>,
    /// The whole machine busy (these processes included), and the time the
    /// hypervisor took from it, % of one core.
    pub machine_busy: f64,
    pub steal: f64,
}

impl Usage {
    /// The cost between two snapshots of the tree under `root`, with PSS as
    /// the second one found it: the window's end (a speaking window ends at
    /// the last look that saw the turn, before what follows it allocates).
    pub fn between(root: u32, a: &Snapshot, b: &Snapshot, ticks: f64) -> Self {
        let seconds = (b.at - a.at).as_secs_f64();
        let share = |d: u64| d as f64 / ticks / seconds * 100.0;
        let mut processes = Vec::new();
        let mut threads = Vec::new();
        for (pid, end) in &b.procs {
            let Some(start) = a.procs.get(pid) else {
                continue;
            };
            processes.push(ProcessUsage {
                pid: *pid,
                name: end.name.clone(),
                cpu: share(end.own.saturating_sub(start.own)),
                reaped: share(end.reaped.saturating_sub(start.reaped)),
                minor_faults: end.minor_faults.saturating_sub(start.minor_faults) as f64 / seconds,
                major_faults: end.major_faults.saturating_sub(start.major_faults) as f64 / seconds,
                pss_kib: end.pss_kib,
            });
            for (tid, (name, t, sleeps)) in &end.threads {
                let (before, slept_before) =
                    start.threads.get(tid).map_or((0, 0), |(_, t, s)| (*t, *s));
                threads.push(ThreadUsage {
                    pid: *pid,
                    tid: *tid,
                    name: name.clone(),
                    cpu: share(t.saturating_sub(before)),
                    wakeups: sleeps.saturating_sub(slept_before) as f64 / seconds,
                });
            }
        }
        threads.sort_by(|x, y| y.cpu.total_cmp(&x.cpu));
        Self {
            root,
            processes,
            threads,
            machine_busy: share(b.machine.busy.saturating_sub(a.machine.busy)),
            steal: share(b.machine.steal.saturating_sub(a.machine.steal)),
        }
    }

    /// The machine busy outside these processes (the benchmark itself, the
    /// X and audio servers, anything else running), % of one core.
    pub fn rest_of_machine_cpu(&self) -> f64 {
        (self.machine_busy - self.total_cpu()).max(0.0)
    }

    /// The app's own CPU (the tree's root), % of one core.
    pub fn root_cpu(&self) -> f64 {
        self.processes
            .iter()
            .filter(|p| p.pid == self.root)
            .map(|p| p.cpu)
            .sum()
    }

    /// The app's PSS (the tree's root), KiB.
    pub fn root_pss_kib(&self) -> u64 {
        self.processes
            .iter()
            .filter(|p| p.pid == self.root)
            .map(|p| p.pss_kib)
            .sum()
    }

    /// What else the app ran: children it reaped in the window and other
    /// processes below it (not the web and network processes `helpers`
    /// names), % of one core.
    pub fn children_cpu(&self, helpers: &[&str]) -> f64 {
        self.processes
            .iter()
            .map(|p| {
                let own = if p.pid == self.root || helpers.contains(&p.name.as_str()) {
                    0.0
                } else {
                    p.cpu
                };
                own + p.reaped
            })
            .sum()
    }

    /// CPU of the processes named `name` (own threads), % of one core.
    pub fn cpu_of(&self, name: &str) -> f64 {
        self.processes
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.cpu)
            .sum()
    }

    /// PSS of the processes named `name`, KiB.
    pub fn pss_of(&self, name: &str) -> u64 {
        self.processes
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.pss_kib)
            .sum()
    }

    /// Everything: every process's own CPU and the children it reaped.
    pub fn total_cpu(&self) -> f64 {
        self.processes.iter().map(|p| p.cpu + p.reaped).sum()
    }

    pub fn total_pss_kib(&self) -> u64 {
        self.processes.iter().map(|p| p.pss_kib).sum()
    }

    /// CPU of the threads of `pid` named `name`, % of one core.
    pub fn thread_cpu(&self, pid: u32, name: &str) -> f64 {
        self.threads
            .iter()
            .filter(|t| t.pid == pid && t.name == name)
            .map(|t| t.cpu)
            .sum()
    }
}
