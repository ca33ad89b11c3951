//! Deployment: the Kubernetes manifests validate against the Kubernetes API schema (no cluster
//! runs here), and what they and the container image run is a command line the binary serves
//! with; a restarted pod resumes its drill (same id, same tokens) rather than starting another.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::util::spawn_served;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `kubernetes-validate --strict` (PyPI; `scripts/test` installs it) on `files`.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let o = std::process::Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .args(files)
        .output()
        .expect("kubernetes-validate (scripts/test installs it with pip)");
    (
        o.status.success(),
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
    )
}

#[test]
fn the_kubernetes_manifests_validate_and_a_broken_one_does_not() {
    let files = manifests();
    assert!(files.len() >= 4, "{files:?}");
    let (ok, out) = validate(&files);
    assert!(ok, "{out}");
    for kind in
        ["statefulset/icsdrill", "service/icsdrill", "service/icsdrill-nodes", "configmap/icsdrill-drill"]
    {
        assert!(out.contains(&format!("passed for resource {kind}")), "{kind}: {out}");
    }
    // The validator bites: a field of the wrong type, or one the API does not have.
    let dir = std::env::temp_dir().join(format!("icsdrill-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let set = std::fs::read_to_string(deploy().join("k8s/statefulset.yaml")).unwrap();
    for (name, broken) in [
        ("type.yaml", set.replacen("replicas: 1", "replicas: one", 1)),
        ("field.yaml", set.replacen("serviceName:", "serviceNam:", 1)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, broken).unwrap();
        let (ok, out) = validate(&[path]);
        assert!(!ok, "{name} passed: {out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The StatefulSet's container arguments as the binary gets them, made safe for a test: the
/// drill file from the ConfigMap, loopback instead of every address, ports the OS picks, a
/// data directory of the test's own.
fn pod_args(data: &Path) -> Vec<String> {
    let set: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy().join("k8s/statefulset.yaml")).unwrap())
            .unwrap();
    let map: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy().join("k8s/configmap.yaml")).unwrap())
            .unwrap();
    let drill = data.join("drill.yaml");
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(&drill, map["data"]["drill.yaml"].as_str().unwrap()).unwrap();
    let args = set["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap();
    args.iter()
        .map(|a| match a.as_str().unwrap() {
            "/etc/icsdrill/drill.yaml" => drill.display().to_string(),
            "/var/lib/icsdrill" => data.display().to_string(),
            "0.0.0.0" => "127.0.0.1".into(),
            "8020" | "5020" => "0".into(),
            a => a.to_string(),
        })
        .collect()
}

fn health(url: &str) -> String {
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(s, "GET /api/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn line<'a>(seen: &'a [String], prefix: &str) -> &'a str {
    seen.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` in {seen:#?}"))
}

#[test]
fn the_pod_serves_its_drill_and_a_restarted_pod_resumes_it() {
    let data = std::env::temp_dir().join(format!("icsdrill-pod-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let args = pod_args(&data);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let no_database = |c: &mut std::process::Command| {
        c.env_remove("ICSDRILL_DATABASE");
    };
    let (served, seen, _) = crate::util::spawn_served_with(&refs, None, no_database);
    assert!(line(&seen, "Drill ").starts_with("Drill xj-2026-regional recorded"), "{seen:#?}");
    let team = line(&seen, "Team dushanzi").to_string();
    let url = team.split_whitespace().last().unwrap().to_string();
    assert!(health(&url).contains(r#""status":"ok""#));
    // The pod is killed (evicted, or its node lost) and started again with the same spec.
    drop(served);
    let (_served, seen, _) = crate::util::spawn_served_with(&refs, None, no_database);
    assert!(seen.iter().any(|l| l.contains("resumed drill xj-2026-regional")), "{seen:#?}");
    let again = line(&seen, "Team dushanzi");
    let token = |l: &str| l.split("token=").nth(1).map(str::to_string);
    assert_eq!(token(again), token(&team), "the team's login survives the restart");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_image_runs_a_command_line_the_binary_serves() {
    let file = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = file.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage: {stages:?}");
    assert!(stages[1].contains("distroless") && stages[1].ends_with(":nonroot"), "{stages:?}");
    let runtime = &file[file.rfind("\nFROM ").unwrap()..];
    let json = |key: &str| -> Vec<String> {
        let l = runtime.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_str(l.trim()).unwrap()
    };
    let entry = json("ENTRYPOINT ");
    let copied = runtime.lines().find_map(|l| l.strip_prefix("COPY --from=build ")).unwrap();
    assert_eq!(
        copied.split_whitespace().last(),
        Some(entry[0].as_str()),
        "the entrypoint is the binary copied"
    );
    assert!(runtime.lines().any(|l| l == "USER nonroot"));
    // Its default command, on loopback with ports the OS picks, serves.
    let data = std::env::temp_dir().join(format!("icsdrill-image-{}", std::process::id()));
    let mut args: Vec<String> =
        json("CMD ").into_iter().map(|a| if a == "0.0.0.0" { "127.0.0.1".into() } else { a }).collect();
    args.extend(["--http-port", "0", "--modbus-port", "0"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_served, seen, _) = spawn_served(&refs, Some(&data));
    let team = line(&seen, "Team blue");
    assert!(health(team.split_whitespace().last().unwrap()).contains(r#""status":"ok""#), "{seen:#?}");
    let _ = std::fs::remove_dir_all(&data);
}
