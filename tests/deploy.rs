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
        ("type.yaml", set.replacen("replicas: 3", "replicas: three", 1)),
        ("field.yaml", set.replacen("serviceName:", "serviceNam:", 1)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, broken).unwrap();
        let (ok, out) = validate(&[path]);
        assert!(!ok, "{name} passed: {out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The StatefulSet's container arguments as pod `pod` gets them, made safe for a test: the
/// drill file from the ConfigMap (its id made `id`), loopback instead of every address, ports
/// the OS picks (so no `--node-url`: the node gives its own address), a data directory of the
/// test's own.
fn pod_args(data: &Path, pod: &str, id: &str) -> Vec<String> {
    let set: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy().join("k8s/statefulset.yaml")).unwrap())
            .unwrap();
    let map: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy().join("k8s/configmap.yaml")).unwrap())
            .unwrap();
    let drill = data.join("drill.yaml");
    std::fs::create_dir_all(data).unwrap();
    let text =
        map["data"]["drill.yaml"].as_str().unwrap().replacen("id: xj-2026-regional", &format!("id: {id}"), 1);
    std::fs::write(&drill, text).unwrap();
    let args = set["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap();
    let mut out = Vec::new();
    let mut skip = false;
    for a in args.iter().map(|a| a.as_str().unwrap()) {
        if std::mem::take(&mut skip) {
            continue;
        }
        out.push(match a {
            "/etc/icsdrill/drill.yaml" => drill.display().to_string(),
            "/var/lib/icsdrill" => data.display().to_string(),
            "$(POD_NAME)" => pod.to_string(),
            "0.0.0.0" => "127.0.0.1".into(),
            "8020" | "5020" => "0".into(),
            "--node-url" => {
                skip = true;
                continue;
            }
            a => a.to_string(),
        });
    }
    out
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
fn the_pods_serve_their_drill_together_and_a_restarted_pod_joins_it_again() {
    // The nodes share the external PostgreSQL (`scripts/test` starts one).
    let Some(database) = crate::util::test_postgres("the StatefulSet's pods are") else { return };
    let id = format!("xj-{}", &icsdrill::drill::new_token()[..12]);
    let data = std::env::temp_dir().join(format!("icsdrill-pod-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let with_database = |c: &mut std::process::Command| {
        c.env("ICSDRILL_DATABASE", &database);
    };
    let pod = |name: &str| {
        let args = pod_args(&data.join(name), name, &id);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::util::spawn_served_with(&refs, None, with_database)
    };
    let (first, seen, _) = pod("icsdrill-0");
    assert!(line(&seen, "Drill ").starts_with(&format!("Drill {id} recorded")), "{seen:#?}");
    assert!(line(&seen, "Node icsdrill-0").contains("shared among the drill's nodes"), "{seen:#?}");
    let team = line(&seen, "Team dushanzi").to_string();
    let url = team.split_whitespace().last().unwrap().to_string();
    assert!(health(&url).contains(r#""status":"ok""#));
    let (_second, seen, _) = pod("icsdrill-1");
    let token = |l: &str| l.split("token=").nth(1).map(str::to_string);
    assert_eq!(token(line(&seen, "Team dushanzi")), token(&team), "the second pod serves the same drill");
    // The first pod is killed (evicted, or its node lost) and started again under its name.
    drop(first);
    let (_first, seen, _) = pod("icsdrill-0");
    let again = line(&seen, "Team dushanzi");
    assert_eq!(token(again), token(&team), "the team's login survives the restart");
    assert!(health(again.split_whitespace().last().unwrap()).contains(r#""status":"ok""#));
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
