//! The binaries started on a port another program holds: each says so in one line naming the address, without a
//! backtrace (even under `RUST_BACKTRACE=1`), and exits with a failure.

use std::time::Duration;

use bw_tests::ctl::binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_port_is_taken_says_so_in_one_line() -> anyhow::Result<()> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?.to_string();
    let listen = ["--listen", addr.as_str()];
    let api_env = [("API_LISTEN", addr.as_str()), ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")];
    let cases = [
        ("api", &[][..], &api_env[..], "API_LISTEN"),
        ("fake-ats", &listen[..], &[][..], "binding the fake ATS"),
        ("fake-openai", &listen[..], &[][..], "binding the fake OpenAI server"),
    ];
    for (name, args, env, names) in cases {
        let mut command = tokio::process::Command::new(binary(name)?);
        command.args(args).envs(env.iter().copied()).env("RUST_BACKTRACE", "1").env("RUST_LIB_BACKTRACE", "1");
        let output = tokio::time::timeout(Duration::from_secs(30), command.output()).await??;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} did not fail: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let last = lines.last().copied().unwrap_or_default();
        assert!(last.starts_with("error: ") && last.contains(&addr) && last.contains(names), "{name}: {stderr}");
        assert!(last.contains("in use"), "{name} names the cause: {last}");
        assert!(!stderr.contains("backtrace") && !stderr.contains("Caused by"), "{name}: {stderr}");
    }
    drop(taken);
    Ok(())
}
