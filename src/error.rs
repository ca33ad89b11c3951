//! What can go wrong in icsdrill's runtime, store and governance, as one typed error. The
//! variant says whose problem it is (the caller's input, a missing record, a refused
//! certificate, the machine), so the web layer maps it to a status and the command line to a
//! message; `anyhow` is used only by the binary's commands.

use std::fmt;
use std::path::{Path, PathBuf};

/// icsdrill's error. Every message is complete on its own (causes are part of it), so it
/// reads the same printed plainly or through `anyhow`'s chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad argument, file or configuration: the caller's to fix.
    #[error("{0}")]
    Invalid(String),
    /// A drill, team, enterprise or prefecture that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A certificate or signature that does not hold.
    #[error("{0}")]
    Refused(String),
    /// Stored data this version cannot read.
    #[error("{0}")]
    Unreadable(String),
    /// A file or directory could not be read, created or written.
    #[error("cannot {action} {}: {cause}", path.display())]
    File {
        /// What was being done (`create`, `read`, `open`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        cause: std::io::Error,
    },
    /// A socket could not be bound.
    #[error("cannot bind {what} to {addr}: {cause}{hint}")]
    Bind {
        /// What was to listen there.
        what: String,
        /// The address.
        addr: std::net::SocketAddr,
        /// Why it failed.
        cause: std::io::Error,
        /// What to do about it (with its leading separator), or empty.
        hint: &'static str,
    },
    /// A part of the runtime stopped (a thread failed, a task panicked).
    #[error("{0}")]
    Failed(String),
    /// SQLite failed.
    #[error("the database failed: {0}")]
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed or could not be reached.
    #[error("PostgreSQL failed: {0}")]
    Postgres(postgres::Error),
    /// A spreadsheet could not be written.
    #[error("cannot write the spreadsheet: {0}")]
    Xlsx(rust_xlsxwriter::XlsxError),
    /// A CSV file could not be written.
    #[error("cannot write the CSV: {0}")]
    Csv(String),
    /// JSON that could not be written or read.
    #[error("JSON: {0}")]
    Json(String),
    /// Starting one team's range failed.
    #[error("starting team `{team}`'s range: {error}")]
    Team {
        /// The team.
        team: String,
        /// Why.
        error: Box<Error>,
    },
    /// A date that is not one.
    #[error(transparent)]
    Date(#[from] crate::governance::dates::DateError),
}

/// icsdrill's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A bad argument, file or configuration.
    pub fn invalid(message: impl fmt::Display) -> Error {
        Error::Invalid(message.to_string())
    }

    /// Something that does not exist.
    pub fn not_found(message: impl fmt::Display) -> Error {
        Error::NotFound(message.to_string())
    }

    /// Stored data this version cannot read.
    pub fn unreadable(message: impl fmt::Display) -> Error {
        Error::Unreadable(message.to_string())
    }

    /// A failed file operation.
    pub fn file(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |cause| Error::File { action, path, cause }
    }

    /// Whether the caller's input is at fault (an answer of 4xx rather than 5xx).
    pub fn is_callers(&self) -> bool {
        match self {
            Error::Invalid(_) | Error::NotFound(_) | Error::Refused(_) | Error::Date(_) => true,
            Error::Team { error, .. } => error.is_callers(),
            _ => false,
        }
    }
}

/// Returns early with `Error::Invalid` and a formatted message (`anyhow::bail!` for the
/// caller's mistakes).
macro_rules! bail_invalid {
    ($($arg:tt)*) => {
        return Err($crate::Error::Invalid(format!($($arg)*)))
    };
}
pub(crate) use bail_invalid;

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Error {
        Error::Failed(format!("a blocking task failed: {e}"))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Sqlite(e)
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        Error::Postgres(e)
    }
}

impl From<rust_xlsxwriter::XlsxError> for Error {
    fn from(e: rust_xlsxwriter::XlsxError) -> Error {
        Error::Xlsx(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Json(e.to_string())
    }
}

impl From<csv::Error> for Error {
    fn from(e: csv::Error) -> Error {
        Error::Csv(e.to_string())
    }
}

/// Where the error goes over HTTP: the caller's faults keep their message; the rest become an
/// internal error that the web layer logs with a request id and does not show.
impl From<Error> for icsdrill_web::ServiceError {
    fn from(e: Error) -> icsdrill_web::ServiceError {
        use icsdrill_web::ServiceError as S;
        match e {
            Error::Invalid(m) | Error::Refused(m) => S::BadRequest(m),
            Error::Date(d) => S::BadRequest(d.to_string()),
            Error::NotFound(m) => S::NotFound(m),
            other => S::internal(other),
        }
    }
}
