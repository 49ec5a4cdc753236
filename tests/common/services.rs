//! Real Postgres and Redis servers for tests: each test gets its own, on free loopback ports,
//! so stopping one (an outage test) disturbs no other test. The binaries come from Debian's
//! `postgresql` and `redis-server` packages (`scripts/setup.sh` installs them).
//!
//! Postgres refuses to run as root; as root the server runs as the `postgres` user the package
//! creates. A database cluster is made once per target directory (a template) and copied.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The directory with `initdb`, `pg_ctl` and `postgres`.
fn pg_bin() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort();
    found.pop().expect(
        "PostgreSQL server binaries not found (apt install postgresql; scripts/setup.sh does)",
    )
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    })
}

/// Runs a Postgres tool as the user that may run the server.
fn pg_command(tool: &str) -> Command {
    let path = pg_bin().join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn give_to_postgres(path: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown {} to postgres", path.display());
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh cluster, made once and copied for each server.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let done = root.join("pg-template");
        if done.join("PG_VERSION").exists() {
            return done;
        }
        let building = root.join(format!("pg-template.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        std::fs::create_dir_all(&building).unwrap();
        give_to_postgres(&building);
        let mut c = pg_command("initdb");
        c.arg("-D")
            .arg(&building)
            .args(["-A", "trust", "-U", "viva", "-E", "UTF8", "--no-sync"]);
        run(c, "initdb");
        if std::fs::rename(&building, &done).is_err() {
            // Another test binary made it first.
            let _ = std::fs::remove_dir_all(&building);
        }
        done
    })
}

pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    running: bool,
}

impl Postgres {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        run(
            {
                let mut c = Command::new("cp");
                c.arg("-a").arg(template()).arg(&data);
                c
            },
            "copying the cluster template",
        );
        give_to_postgres(dir.path());
        let mut pg = Self {
            dir,
            port: free_port(),
            running: false,
        };
        pg.resume();
        run(
            {
                let mut c = Command::new("psql");
                c.args(["-q", "-h", "127.0.0.1", "-p", &pg.port.to_string()])
                    .args(["-U", "viva", "-d", "postgres", "-c", "CREATE DATABASE viva"]);
                c
            },
            "creating the database",
        );
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://viva@127.0.0.1:{}/viva", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts (again) on the same port and data, waiting until it accepts connections.
    pub fn resume(&mut self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let mut c = pg_command("pg_ctl");
        c.arg("-D")
            .arg(self.data())
            .args(["-o", &opts, "-l"])
            .arg(self.dir.path().join("log"))
            .args(["-w", "start"]);
        run(c, "pg_ctl start");
        self.running = true;
    }

    /// Stops the server (an outage): `fast` disconnects clients and shuts down cleanly.
    pub fn stop(&mut self) {
        let mut c = pg_command("pg_ctl");
        c.arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"]);
        run(c, "pg_ctl stop");
        self.running = false;
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = pg_command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            child: None,
        };
        r.resume();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, empty (no persistence: Redis holds only what can be
    /// rebuilt), and returns once it accepts connections.
    pub fn resume(&mut self) {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "notice"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found (apt install redis-server; scripts/setup.sh does)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("redis-server exited before it was ready")
                .unwrap();
            if line.contains("Ready to accept connections") {
                break;
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    /// Kills the server (an outage; everything it held is gone).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An S3-compatible object store for the recording tests: moto's server (`pip install
/// 'moto[server]'`; scripts/setup.sh does), in memory, on a free port.
pub struct S3 {
    pub port: u16,
    child: Child,
}

impl S3 {
    pub fn start() -> Self {
        let port = free_port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 not found");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = lines
                .next()
                .expect("moto's server exited before it was ready (pip install 'moto[server]'; scripts/setup.sh does)")
                .unwrap();
            if line.contains("Running on") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Self { port, child }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's nginx (`apt install nginx`; scripts/setup.sh does) on a free loopback port, with
/// the given configuration text, in the foreground, its files in a private directory.
pub struct Nginx {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Nginx {
    /// Starts nginx with `conf` (a whole nginx.conf) and returns once it accepts connections.
    /// `listen` in `conf` must name [`Nginx::port`]'s placeholder `{port}`.
    pub fn start(conf: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf.replace("{port}", &port.to_string())).unwrap();
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nginx");
        let globals = format!(
            "daemon off; pid {0}/nginx.pid; error_log {0}/error.log notice;",
            dir.path().display()
        );
        let mut check = Command::new(bin);
        check
            .arg("-t")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .args(["-g", &globals]);
        run(check, "nginx -t (apt install nginx; scripts/setup.sh does)");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx not found (apt install nginx; scripts/setup.sh does)");
        // nginx says nothing when it is up: it is once its port takes connections.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self { port, dir, child }
    }

    /// Its error log (for a failing test to show).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM: the master stops its workers too (a killed master would leave them serving).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
