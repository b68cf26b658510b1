//! Chooses WebKitGTK's renderer for this machine (Linux): DMA-BUF where GPU
//! buffer sharing works, shared memory where it does not.
//!
//! WebKitGTK renders web content into DMA-BUF buffers by default. Where
//! buffer sharing does not work — software GL, no usable DRM render node, a
//! virtual X server such as Xvfb or Xvnc, the proprietary NVIDIA driver — the
//! window stays blank while the page runs. The shared-memory renderer works
//! everywhere but copies every frame through the CPU, so it is chosen only
//! where DMA-BUF would fail. The facts are probed once at launch
//! ([`DisplayFacts::probe`]) and the choice is a pure function of them
//! ([`choose`]), so every path is tested; a `WEBKIT_DISABLE_DMABUF_RENDERER`
//! the user set always wins. The variable Candor sets reaches WebKit's
//! processes, not what the app opens for the user (`launch.rs`).

use std::fmt;
use std::path::PathBuf;

/// WebKitGTK's switch: set and not `0`, it renders with shared memory.
pub const WEBKIT_VAR: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// X servers with no GPU behind them.
const VIRTUAL_X_SERVERS: &[&str] = &["Xvfb", "Xvnc", "Xtigervnc", "Xtightvnc", "Xdummy"];

/// Kernel drivers that expose a render node without a GPU behind it.
const NOT_A_GPU: &[&str] = &["vgem", "vkms", "simpledrm", "evdi", "udl"];

/// The proprietary NVIDIA kernel driver, whose DMA-BUF path leaves WebKitGTK's
/// window blank on many driver versions.
const NVIDIA: &str = "nvidia";

/// What was found about the display and GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplayFacts {
    /// `WEBKIT_DISABLE_DMABUF_RENDERER` as the user set it.
    pub user_setting: Option<String>,
    /// A variable that forces software GL, as `NAME=value`.
    pub software_gl: Option<String>,
    /// The DRM render nodes (`/dev/dri/renderD*`).
    pub render_nodes: Vec<RenderNode>,
    /// The X server behind `$DISPLAY` when it is a virtual one (and no
    /// Wayland display is set).
    pub virtual_x_server: Option<String>,
}

/// One DRM render node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderNode {
    pub path: PathBuf,
    /// Its kernel driver (`i915`, `amdgpu`, `nvidia`, `vgem`, …), if known.
    pub driver: Option<String>,
    /// Whether this process may open it for reading and writing.
    pub usable: bool,
}

/// WebKitGTK's two renderers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    DmaBuf,
    SharedMemory,
}

/// Why a renderer was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The user's own `WEBKIT_DISABLE_DMABUF_RENDERER` value.
    UserSetting(String),
    /// Software GL is forced (`NAME=value`).
    SoftwareGl(String),
    /// A virtual X server serves the display.
    VirtualDisplay(String),
    /// No `/dev/dri/renderD*` at all (no GPU, or a VM without one).
    NoRenderNode,
    /// Render nodes exist but this user may not open any.
    NoUsableRenderNode,
    /// The only render nodes have no GPU behind them (these drivers).
    NoGpu(String),
    /// The only GPU runs the proprietary NVIDIA driver.
    Nvidia,
    /// A GPU with this driver can share buffers.
    Gpu(String),
}

/// The renderer and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub renderer: Renderer,
    pub reason: Reason,
}

impl Choice {
    /// Whether Candor sets `WEBKIT_DISABLE_DMABUF_RENDERER` (never over the
    /// user's own value).
    pub fn sets_variable(&self) -> bool {
        self.renderer == Renderer::SharedMemory && !matches!(self.reason, Reason::UserSetting(_))
    }
}

impl Renderer {
    /// How the page's frames are painted, as the page is told
    /// ([`PAINT_GLOBAL`]): `"cpu"` for shared memory, where every frame of a
    /// running animation is a full repaint and a copy through the CPU (about
    /// a quarter of a core for one continuous animation), `"gpu"` for DMA-BUF,
    /// where the compositor moves transforms and opacity without repainting.
    pub fn paint(self) -> &'static str {
        match self {
            Renderer::DmaBuf => "gpu",
            Renderer::SharedMemory => "cpu",
        }
    }

    /// How many microphone levels a second the page is sent: painted on the
    /// CPU it draws the level at most every 100 ms (`CPU_LEVEL_EVERY_MS` in
    /// `ui/src/views/live.ts`), so more would only cost both processes a
    /// message each; on the GPU it draws one an animation frame, and 25 a
    /// second keeps the meter smooth.
    pub fn level_updates_per_second(self) -> u32 {
        match self {
            Renderer::DmaBuf => 25,
            Renderer::SharedMemory => 10,
        }
    }
}

/// The global the page reads at start-up to learn how its frames are painted
/// (`ui/src/paint.ts`): with `"cpu"` it keeps still what would otherwise
/// animate for as long as a state lasts.
pub const PAINT_GLOBAL: &str = "__CANDOR_PAINT__";

/// The script run in the page before its own, telling it [`Renderer::paint`].
pub fn page_script(renderer: Renderer) -> String {
    format!(
        "Object.defineProperty(window, {PAINT_GLOBAL:?}, {{ value: {:?} }});",
        renderer.paint()
    )
}

/// The renderer for these facts.
pub fn choose(facts: &DisplayFacts) -> Choice {
    use Renderer::{DmaBuf, SharedMemory};
    let choice = |renderer, reason| Choice { renderer, reason };
    if let Some(value) = &facts.user_setting {
        let renderer = if value == "0" { DmaBuf } else { SharedMemory };
        return choice(renderer, Reason::UserSetting(value.clone()));
    }
    if let Some(var) = &facts.software_gl {
        return choice(SharedMemory, Reason::SoftwareGl(var.clone()));
    }
    if let Some(server) = &facts.virtual_x_server {
        return choice(SharedMemory, Reason::VirtualDisplay(server.clone()));
    }
    if facts.render_nodes.is_empty() {
        return choice(SharedMemory, Reason::NoRenderNode);
    }
    let usable: Vec<&RenderNode> = facts.render_nodes.iter().filter(|n| n.usable).collect();
    if usable.is_empty() {
        return choice(SharedMemory, Reason::NoUsableRenderNode);
    }
    let driver = |n: &RenderNode| n.driver.clone().unwrap_or_else(|| "unknown".to_owned());
    let gpus: Vec<String> = usable
        .iter()
        .filter(|n| !n.driver.as_deref().is_some_and(|d| NOT_A_GPU.contains(&d)))
        .map(|n| driver(n))
        .collect();
    if gpus.is_empty() {
        let drivers: Vec<String> = usable.iter().map(|n| driver(n)).collect();
        return choice(SharedMemory, Reason::NoGpu(drivers.join(", ")));
    }
    match gpus.iter().find(|d| d.as_str() != NVIDIA) {
        Some(gpu) => choice(DmaBuf, Reason::Gpu(gpu.clone())),
        None => choice(SharedMemory, Reason::Nvidia),
    }
}

impl fmt::Display for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Renderer::DmaBuf => "DMA-BUF",
            Renderer::SharedMemory => "shared memory",
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UserSetting(v) => write!(f, "{WEBKIT_VAR}={v} is set"),
            Reason::SoftwareGl(v) => write!(f, "{v} forces software GL"),
            Reason::VirtualDisplay(s) => {
                write!(f, "the display is served by {s}, a virtual X server")
            }
            Reason::NoRenderNode => f.write_str("no GPU render node (/dev/dri/renderD*)"),
            Reason::NoUsableRenderNode => f.write_str("no GPU render node this user may open"),
            Reason::NoGpu(d) => write!(f, "the render nodes have no GPU behind them ({d})"),
            Reason::Nvidia => f.write_str("the GPU runs the proprietary NVIDIA driver"),
            Reason::Gpu(d) => write!(f, "a GPU ({d}) can share buffers"),
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebKit renders with {}: {}", self.renderer, self.reason)
    }
}

impl DisplayFacts {
    /// Reads the environment, `/dev/dri`, `/sys/class/drm` and, on X11,
    /// which process serves `$DISPLAY`. Cheap: no GL is loaded.
    pub fn probe() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let software_gl = var("LIBGL_ALWAYS_SOFTWARE")
            .filter(|v| !matches!(v.as_str(), "0" | "false"))
            .map(|v| format!("LIBGL_ALWAYS_SOFTWARE={v}"))
            .or_else(|| {
                var("GALLIUM_DRIVER")
                    .filter(|v| matches!(v.as_str(), "llvmpipe" | "softpipe" | "swr"))
                    .map(|v| format!("GALLIUM_DRIVER={v}"))
            });
        let virtual_x_server = match (var("WAYLAND_DISPLAY"), var("DISPLAY")) {
            (None, Some(display)) => virtual_x_server(&display),
            _ => None,
        };
        Self {
            user_setting: std::env::var_os(WEBKIT_VAR).map(|v| v.to_string_lossy().into_owned()),
            software_gl,
            render_nodes: render_nodes(),
            virtual_x_server,
        }
    }
}

fn render_nodes() -> Vec<RenderNode> {
    let Ok(entries) = std::fs::read_dir("/dev/dri") else {
        return Vec::new();
    };
    let mut nodes: Vec<RenderNode> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            name.starts_with("renderD").then(|| {
                let driver = std::fs::read_link(format!("/sys/class/drm/{name}/device/driver"))
                    .ok()
                    .and_then(|p| Some(p.file_name()?.to_str()?.to_owned()));
                let path = entry.path();
                let usable = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .is_ok();
                RenderNode {
                    path,
                    driver,
                    usable,
                }
            })
        })
        .collect();
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    nodes
}

/// The name of the virtual X server serving a local `display` (`:99`,
/// `:99.0`), found among this machine's processes by its name and display
/// argument.
fn virtual_x_server(display: &str) -> Option<String> {
    let number = display.strip_prefix(':')?.split('.').next()?;
    let wanted = format!(":{number}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            entry.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let mut args = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
            let program = args.next()?;
            let name = program.rsplit('/').next()?.to_owned();
            (VIRTUAL_X_SERVERS.contains(&name.as_str()) && args.any(|a| a == wanted))
                .then_some(name)
        })
}

/// Probes, chooses and, for shared memory, sets the variable WebKitGTK reads.
#[allow(unsafe_code)]
pub fn configure() -> Choice {
    let choice = choose(&DisplayFacts::probe());
    if choice.sets_variable() {
        // SAFETY: called first thing in `run`, from `main`, before the app
        // starts any thread or any library that reads the environment.
        unsafe { crate::launch::set_for_web_processes(WEBKIT_VAR, "1") };
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_told_whether_its_frames_are_painted_on_the_cpu() {
        assert_eq!(
            page_script(Renderer::SharedMemory),
            r#"Object.defineProperty(window, "__CANDOR_PAINT__", { value: "cpu" });"#
        );
        assert_eq!(
            page_script(Renderer::DmaBuf),
            r#"Object.defineProperty(window, "__CANDOR_PAINT__", { value: "gpu" });"#
        );
    }

    #[test]
    fn painted_on_the_cpu_the_page_is_sent_as_many_levels_as_it_draws() {
        let live = include_str!("../../ui/src/views/live.ts");
        let every_ms: u32 = live
            .lines()
            .find_map(|l| l.strip_prefix("const CPU_LEVEL_EVERY_MS = "))
            .and_then(|v| v.trim_end_matches(';').parse().ok())
            .expect("live.ts declares CPU_LEVEL_EVERY_MS");
        assert_eq!(
            Renderer::SharedMemory.level_updates_per_second(),
            1000 / every_ms
        );
        assert!(Renderer::DmaBuf.level_updates_per_second() > 1000 / every_ms);
    }

    fn node(n: u32, driver: &str, usable: bool) -> RenderNode {
        RenderNode {
            path: PathBuf::from(format!("/dev/dri/renderD{n}")),
            driver: Some(driver.to_owned()),
            usable,
        }
    }

    fn gpu(driver: &str) -> DisplayFacts {
        DisplayFacts {
            render_nodes: vec![node(128, driver, true)],
            ..DisplayFacts::default()
        }
    }

    fn shared(reason: Reason) -> Choice {
        Choice {
            renderer: Renderer::SharedMemory,
            reason,
        }
    }

    #[test]
    fn a_gpu_that_shares_buffers_keeps_dma_buf() {
        for driver in ["i915", "xe", "amdgpu", "nouveau", "msm", "virtio_gpu"] {
            let choice = choose(&gpu(driver));
            assert_eq!(
                choice,
                Choice {
                    renderer: Renderer::DmaBuf,
                    reason: Reason::Gpu(driver.into())
                }
            );
            assert!(!choice.sets_variable(), "WebKit's default is left alone");
        }
    }

    #[test]
    fn software_or_virtual_displays_use_shared_memory() {
        let xvfb = DisplayFacts {
            virtual_x_server: Some("Xvfb".into()),
            ..gpu("i915")
        };
        assert_eq!(choose(&xvfb), shared(Reason::VirtualDisplay("Xvfb".into())));

        let llvmpipe = DisplayFacts {
            software_gl: Some("LIBGL_ALWAYS_SOFTWARE=1".into()),
            ..gpu("amdgpu")
        };
        assert_eq!(
            choose(&llvmpipe),
            shared(Reason::SoftwareGl("LIBGL_ALWAYS_SOFTWARE=1".into()))
        );

        assert_eq!(
            choose(&DisplayFacts::default()),
            shared(Reason::NoRenderNode),
            "a VM without a GPU"
        );

        let locked = DisplayFacts {
            render_nodes: vec![node(128, "i915", false)],
            ..DisplayFacts::default()
        };
        assert_eq!(choose(&locked), shared(Reason::NoUsableRenderNode));

        assert_eq!(choose(&gpu("vgem")), shared(Reason::NoGpu("vgem".into())));
        assert!(choose(&gpu("vgem")).sets_variable());
    }

    #[test]
    fn nvidia_alone_uses_shared_memory_but_not_beside_another_gpu() {
        assert_eq!(choose(&gpu("nvidia")), shared(Reason::Nvidia));
        let hybrid = DisplayFacts {
            render_nodes: vec![node(128, "nvidia", true), node(129, "i915", true)],
            ..DisplayFacts::default()
        };
        assert_eq!(choose(&hybrid).reason, Reason::Gpu("i915".into()));
        let unknown = DisplayFacts {
            render_nodes: vec![
                RenderNode {
                    driver: None,
                    ..node(128, "", true)
                },
                node(129, "vgem", true),
            ],
            ..DisplayFacts::default()
        };
        assert_eq!(
            choose(&unknown).reason,
            Reason::Gpu("unknown".into()),
            "an unknown driver gets the benefit of the doubt"
        );
    }

    #[test]
    fn the_users_setting_always_wins() {
        let forced_on = DisplayFacts {
            user_setting: Some("1".into()),
            ..gpu("amdgpu")
        };
        let choice = choose(&forced_on);
        assert_eq!(choice, shared(Reason::UserSetting("1".into())));
        assert!(!choice.sets_variable(), "the user's value is not touched");

        let forced_off = DisplayFacts {
            user_setting: Some("0".into()),
            virtual_x_server: Some("Xvfb".into()),
            ..DisplayFacts::default()
        };
        assert_eq!(choose(&forced_off).renderer, Renderer::DmaBuf);
    }

    #[test]
    fn a_virtual_x_server_is_found_by_its_name_and_display() {
        // A process named Xvfb with display argument :4242 (a shell that sleeps).
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = dir.path().join("Xvfb");
        std::os::unix::fs::symlink("/bin/sh", &fake).expect("symlink");
        let mut server = std::process::Command::new(&fake)
            .args(["-c", "sleep 30; :", ":4242"])
            .spawn()
            .expect("spawn");
        // The child shows its own command line once it has exec'd, which
        // on a busy machine may be a moment after `spawn` returned.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while virtual_x_server(":4242").is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = (
            virtual_x_server(":4242"),
            virtual_x_server(":4242.0"),
            virtual_x_server(":4243"),
        );
        server.kill().expect("kill");
        server.wait().expect("wait");
        assert_eq!(found, (Some("Xvfb".into()), Some("Xvfb".into()), None));
        assert_eq!(
            virtual_x_server("otherhost:4242"),
            None,
            "only a local display"
        );
    }

    #[test]
    fn the_choice_says_what_was_detected() {
        let text = choose(&DisplayFacts {
            virtual_x_server: Some("Xvfb".into()),
            ..gpu("i915")
        })
        .to_string();
        assert_eq!(
            text,
            "WebKit renders with shared memory: the display is served by Xvfb, a virtual X server"
        );
        assert_eq!(
            choose(&gpu("amdgpu")).to_string(),
            "WebKit renders with DMA-BUF: a GPU (amdgpu) can share buffers"
        );
    }
}
