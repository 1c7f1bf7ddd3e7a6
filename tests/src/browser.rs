//! Headless Chromium driven over WebDriver: one `chromedriver` child per test, a fresh profile, elements found by
//! `data-testid`, waits that say what they awaited and what the page showed, and screenshots under
//! `target/browser-screenshots/`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a wait lasts unless told otherwise.
pub const WAIT: Duration = Duration::from_secs(30);

/// Chromium's flags. Without the background-networking ones Chromium's own connections are refused on these
/// machines and page loads stall behind them.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// The CSS selector of the element with `data-testid="{id}"`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// One test's browser: Chromium under its own chromedriver, both gone when this is dropped.
pub struct Browser {
    client: Client,
    test: String,
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session for the test `test` (which names its screenshots).
    pub async fn start(test: &str) -> anyhow::Result<Self> {
        let driver = Driver::spawn()?;
        driver.wait_ready().await?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", driver.profile.display()));
        capabilities
            .insert("goog:chromeOptions".into(), json!({ "binary": path_of("CHROMIUM", "chromium")?, "args": args }));
        let client = ClientBuilder::rustls()
            .context("TLS setup for the WebDriver client")?
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .context("chromedriver refused a Chromium session")?;
        Ok(Self { client, test: test.to_owned(), driver })
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn open(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await.with_context(|| format!("opening {url}"))
    }

    /// The address's fragment without its `#` (`/runs/{id}`), or "" when it has none.
    pub async fn hash(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.fragment().unwrap_or_default().to_owned())
    }

    /// Presses and releases each key of `keys` on the keyboard, whatever has the focus: text, or keys such as
    /// [`fantoccini::key::Key::Tab`] as chars.
    pub async fn press(&self, keys: &str) -> anyhow::Result<()> {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for value in keys.chars() {
            actions = actions.then(KeyAction::Down { value }).then(KeyAction::Up { value });
        }
        self.client.perform_actions(actions).await.with_context(|| format!("pressing {keys:?}"))
    }

    /// The `data-testid` of the focused element, if it has one.
    pub async fn focused(&self) -> anyhow::Result<Option<String>> {
        Ok(self.client.active_element().await?.attr("data-testid").await?)
    }

    /// Resizes the window (the viewport is a little smaller).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        Ok(self.client.set_window_size(width, height).await?)
    }

    /// Runs `script` (a function body: `return` gives the result) in the page.
    pub async fn js(&self, script: &str) -> anyhow::Result<Value> {
        self.client.execute(script, Vec::new()).await.with_context(|| format!("running script {script:?}"))
    }

    /// The element with `data-testid="{id}"` now, or an error.
    pub async fn find(&self, id: &str) -> anyhow::Result<Element> {
        self.find_css(&testid(id)).await
    }

    /// The first element matching the CSS selector `css` now, or an error.
    pub async fn find_css(&self, css: &str) -> anyhow::Result<Element> {
        self.client.find(Locator::Css(css)).await.with_context(|| format!("no element {css}"))
    }

    /// Every element with `data-testid="{id}"` now (maybe none).
    pub async fn find_all(&self, id: &str) -> anyhow::Result<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(&testid(id))).await?)
    }

    /// Waits until the element with `data-testid="{id}"` is displayed; returns it.
    pub async fn wait_for(&self, id: &str) -> anyhow::Result<Element> {
        self.wait_for_css(&testid(id)).await
    }

    /// Waits until the first element matching `css` is displayed; returns it.
    pub async fn wait_for_css(&self, css: &str) -> anyhow::Result<Element> {
        self.wait_until(&format!("{css} to be displayed"), || async {
            let element = self.find_css(css).await?;
            Ok(element.is_displayed().await?.then_some(element))
        })
        .await
    }

    /// Waits until nothing with `data-testid="{id}"` is displayed.
    pub async fn wait_gone(&self, id: &str) -> anyhow::Result<()> {
        self.wait_until(&format!("{} to be gone", testid(id)), || async {
            for element in self.find_all(id).await? {
                if element.is_displayed().await? {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await
    }

    /// Waits for the element `id`, then clicks it.
    pub async fn click(&self, id: &str) -> anyhow::Result<()> {
        let element = self.wait_for(id).await?;
        element.click().await.with_context(|| format!("clicking {}", testid(id)))
    }

    /// Waits for the input `id`, clears it and types `text` into it.
    pub async fn type_into(&self, id: &str, text: &str) -> anyhow::Result<()> {
        let element = self.wait_for(id).await?;
        element.clear().await?;
        element.send_keys(text).await.with_context(|| format!("typing into {}", testid(id)))
    }

    /// Waits for the select `id`, then chooses the option whose value is `value`.
    pub async fn select(&self, id: &str, value: &str) -> anyhow::Result<()> {
        let element = self.wait_for(id).await?;
        element.select_by_value(value).await.with_context(|| format!("choosing {value:?} in {}", testid(id)))
    }

    /// The visible text of the element `id` now.
    pub async fn text(&self, id: &str) -> anyhow::Result<String> {
        Ok(self.find(id).await?.text().await?)
    }

    /// The visible texts of every element `id` now, in document order.
    pub async fn texts(&self, id: &str) -> anyhow::Result<Vec<String>> {
        let mut texts = Vec::new();
        for element in self.find_all(id).await? {
            texts.push(element.text().await?);
        }
        Ok(texts)
    }

    /// The attribute `name` of the element `id` now.
    pub async fn attr(&self, id: &str, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self.find(id).await?.attr(name).await?)
    }

    /// Waits until the text of the element `id` satisfies `accept`; returns it.
    pub async fn wait_text(&self, id: &str, what: &str, accept: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        self.wait_until(&format!("{} to show {what}", testid(id)), || async {
            let text = self.text(id).await?;
            Ok(accept(&text).then_some(text))
        })
        .await
    }

    /// Polls `check` until it gives `Some`, for at most [`WAIT`]; see [`Browser::wait_until_within`].
    pub async fn wait_until<T, F, Fut>(&self, what: &str, check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        self.wait_until_within(WAIT, what, check).await
    }

    /// Polls `check` every 100 ms until it gives `Some`. An error from `check` counts as "not yet" (the element
    /// may not exist yet, or have been replaced). After `timeout`, saves a screenshot and fails naming `what` was
    /// awaited, the last error, and the page: its address, text, and the browser console's messages.
    pub async fn wait_until_within<T, F, Fut>(&self, timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let last_error = loop {
            let error = match check().await {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => None,
                Err(e) => Some(format!("{e:#}")),
            };
            if tokio::time::Instant::now() >= deadline {
                break error;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let last = last_error.map(|e| format!(" (last check: {e})")).unwrap_or_default();
        anyhow::bail!("timed out after {timeout:?} waiting for {what}{last}\n{}", self.describe_failure().await)
    }

    /// What the page shows, for a failure message, with a screenshot saved beside the others.
    async fn describe_failure(&self) -> String {
        let screenshot = match self.screenshot("failed").await {
            Ok(path) => path.display().to_string(),
            Err(e) => format!("none ({e:#})"),
        };
        let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("? ({e})"));
        let text = self.js("return document.body ? document.body.innerText : ''").await;
        let text = text.map(|t| t.as_str().unwrap_or_default().to_owned()).unwrap_or_else(|e| format!("? ({e:#})"));
        let console = self.console().await.unwrap_or_else(|e| vec![format!("? ({e:#})")]);
        format!(
            "page {url}, screenshot {screenshot}\n--- page text ---\n{}\n--- console ---\n{}",
            truncate(&text, 3000),
            console.join("\n")
        )
    }

    /// The browser console's messages since the last call (JavaScript errors, failed requests, `console.*`).
    pub async fn console(&self) -> anyhow::Result<Vec<String>> {
        let session = self.client.session_id().await?.context("no WebDriver session")?;
        let url = format!("{}/session/{session}/se/log", self.driver.url());
        let answer: Value =
            reqwest::Client::new().post(url).json(&json!({ "type": "browser" })).send().await?.json().await?;
        Ok(answer["value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| format!("{} {}", entry["level"].as_str().unwrap_or("?"), entry["message"]))
            .collect())
    }

    /// Saves a screenshot of the window as `target/browser-screenshots/{test}-{name}.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await.context("taking a screenshot")?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}-{name}.png", self.test));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// `target/browser-screenshots` of the workspace (or of `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("browser-screenshots")
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}… ({} more characters)", &text[..at], text[at..].chars().count()),
        None => text.to_owned(),
    }
}

/// The path of a binary: the environment variable `var` (scripts/test.sh exports it), else `/usr/bin/{name}`.
fn path_of(var: &str, name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| Path::new("/usr/bin").join(name));
    anyhow::ensure!(
        path.is_file(),
        "{} not found: run scripts/test.sh (it installs chromium and chromium-driver), or set {var}",
        path.display()
    );
    Ok(path)
}

/// A chromedriver child on a free port, with the Chromium profile directory it hands out. Dropping it shuts
/// chromedriver down (it ends its Chromium), kills what is left, and removes the profile.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn spawn() -> anyhow::Result<Self> {
        let binary = path_of("CHROMEDRIVER", "chromedriver")?;
        path_of("CHROMIUM", "chromium")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let profile = std::env::temp_dir().join(format!("bw-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).with_context(|| format!("creating {}", profile.display()))?;
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that whatever survives it can be found and ended (see Drop).
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self { child, port, profile })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits (up to 20 s) until chromedriver answers that it is ready.
    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = http.get(format!("{}/status", self.url())).send().await
                && let Ok(status) = response.json::<Value>().await
                && status["value"]["ready"] == true
            {
                return Ok(());
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "chromedriver did not get ready on {}", self.url());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks chromedriver to quit its sessions and exit (`GET /shutdown`), with plain blocking I/O: this runs in
    /// `Drop`, where nothing can be awaited.
    fn shutdown(&self) -> std::io::Result<()> {
        let address = ([127, 0, 0, 1], self.port).into();
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(stream, "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(())
    }

    /// Waits up to `timeout` for chromedriver to exit.
    fn exited_within(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let graceful = self.shutdown().is_ok() && self.exited_within(Duration::from_secs(5));
        if !graceful {
            // Chromium's processes share chromedriver's process group; end the whole group while chromedriver,
            // its leader, is not reaped yet (so the group id cannot have been reused).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
