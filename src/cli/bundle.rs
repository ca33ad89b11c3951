//! `icsdrill bundle ...`: a drill as one signed, replayable file, from the enterprise that ran
//! it to the region that checks it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use icsdrill::governance::bundle;

use super::{Location, open_store};

/// `icsdrill bundle ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum BundleCmd {
    /// Write a recorded drill as one signed file: scenario, seed, every input, log hashes, scores,
    /// findings and reports, signed with this installation's key. The drill must replay to its
    /// record first (将已记录的演练写成一个签名的演练数据包).
    Export {
        /// Drill id (演练编号).
        drill: String,
        /// The bundle file to write (要写出的演练数据包文件).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a bundle (signature against the registered installation key of each enterprise in it,
    /// then a replay that must reproduce its hashes, scores and findings) and, when it holds,
    /// record the drill as verified: it counts towards cadence and its findings join the
    /// rectification register. Exits 1 with the reason when it is rejected (核验演练数据包).
    Import {
        /// The bundle file (演练数据包文件).
        file: PathBuf,
    },
    /// Print this installation's public key (to register with the region: `icsdrill registry key
    /// ENTERPRISE KEY`) (输出本安装的公钥).
    Key,
}

/// The installation's signing key (made on first use, as for certificates).
fn signing_key(at: &Location) -> Result<ed25519_dalek::SigningKey> {
    let dir = icsdrill::store::data_dir(at.data_dir.as_deref())?;
    Ok(icsdrill::governance::cert::signing_key(&dir)?)
}

#[tracing::instrument(name = "bundle", skip_all)]
pub(crate) fn run(cmd: BundleCmd, at: &Location) -> Result<ExitCode> {
    match cmd {
        BundleCmd::Export { drill, out } => {
            let store = open_store(at)?;
            let b = bundle::export(&*store, &drill, &signing_key(at)?)?;
            let bytes = serde_json::to_vec(&b)?;
            super::write_atomic(&out, &bytes)?;
            println!(
                "drill {drill}: bundle {} ({} bytes), signed by {}",
                out.display(),
                bytes.len(),
                b.public_key
            );
            Ok(ExitCode::SUCCESS)
        }
        BundleCmd::Import { file } => {
            let b = match bundle::read(&file)? {
                Ok(b) => b,
                Err(r) => return Ok(rejected(&file, &r)),
            };
            let own = icsdrill::governance::exam::installation_key(&icsdrill::store::data_dir(
                at.data_dir.as_deref(),
            )?);
            let mut store = at.create()?;
            match bundle::import(&mut *store, &b, own.as_deref())? {
                Ok(i) => {
                    println!(
                        "accepted: drill {} of {} replays to its log hashes ({}); recorded as verified",
                        i.drill,
                        i.teams.join(", "),
                        i.hashes.join(", ")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(r) => Ok(rejected(&file, &r)),
            }
        }
        BundleCmd::Key => {
            let key = signing_key(at)?;
            println!("{}", icsdrill_engine::hex(key.verifying_key().as_bytes()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn rejected(file: &std::path::Path, why: &bundle::Rejection) -> ExitCode {
    eprintln!("rejected {}: {why}", file.display());
    ExitCode::FAILURE
}
