//! The HTML pages, stylesheet and script of the web view, built into the binary (drill
//! networks are often offline: no CDN, no external fonts).

/// The public scoreboard (`/`), big-screen friendly.
pub const SCOREBOARD: &str = include_str!("../assets/scoreboard.html");
/// The team console (`/team/{team}`).
pub const TEAM: &str = include_str!("../assets/team.html");
/// The instructor console (`/instructor`).
pub const INSTRUCTOR: &str = include_str!("../assets/instructor.html");
/// Shown for a login URL with an unknown token.
pub const BAD_TOKEN: &str = include_str!("../assets/bad_token.html");
/// The script every page shares (the words in both languages, helpers, live streams, the
/// scoreboard).
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The team console's own script (loaded after `APP_JS`).
pub const TEAM_JS: &str = include_str!("../assets/team.js");
/// The white cell's console's own script.
pub const INSTRUCTOR_JS: &str = include_str!("../assets/instructor.js");
/// The regional and trainer views' own script.
pub const REGION_JS: &str = include_str!("../assets/region.js");
/// The stylesheet.
pub const APP_CSS: &str = include_str!("../assets/app.css");
/// uPlot 1.6.32 (MIT, `assets/vendor/uPlot.LICENSE`), the trends' chart library, vendored from
/// npm as published: small and fast, no dependencies, no CDN.
pub const UPLOT_JS: &str = include_str!("../assets/vendor/uPlot.iife.min.js");
/// uPlot's stylesheet.
pub const UPLOT_CSS: &str = include_str!("../assets/vendor/uPlot.min.css");
/// The icon every page shows in its tab.
pub const FAVICON: &str = include_str!("../assets/favicon.svg");
/// The regional oversight view (`/region`).
pub const REGION: &str = include_str!("../assets/region.html");
/// The trainer's cohort view (`/trainer`).
pub const TRAINER: &str = include_str!("../assets/trainer.html");
