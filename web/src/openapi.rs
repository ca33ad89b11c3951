//! The OpenAPI 3.1 description of the drill API, generated from `drill::ROUTES`.

use serde_json::{Value, json};

use crate::drill::{Access, ROUTES};

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": r.summary,
            "x-access": match r.access {
                Access::Public => "public",
                Access::Any => "any credential (observer, team, instructor)",
                Access::TeamOrInstructor => "the team named in the path, or an instructor",
                Access::OwnTeam => "the team named in the path",
                Access::Instructor => "instructor",
            },
            "responses": {
                "200": { "description": "OK" },
                "400": { "description": "Invalid input", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "401": { "description": "No or unknown credential" },
                "403": { "description": "The credential does not reach this resource" },
                "404": { "description": "No such team or resource" },
            },
        });
        if r.access != Access::Public {
            op["security"] = json!([{ "bearer": [] }, { "cookie": [] }]);
        }
        if r.path.contains("{team}") {
            op["parameters"] = json!([{ "name": "team", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$" } }]);
        }
        if let Some(body) = r.body {
            let example: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            op["requestBody"] =
                json!({ "required": true, "content": { "application/json": { "example": example } } });
            op["responses"]["409"] =
                json!({ "description": "The drill is not live, or the phase change is not allowed" });
            op["responses"]["422"] = json!({ "description": "The plant refused the action (reason given)" });
        }
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "icsdrill drill API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Team consoles, the instructor (white cell) console and the scoreboard of an icsdrill drill. Errors are JSON: {\"error\": \"...\"}.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "icsdrill_token",
                    "description": "The login page sets one cookie a kind of login: icsdrill_instructor, icsdrill_observer, icsdrill_team_<id> or icsdrill_region (the page names the one it acts with in X-Icsdrill-As); icsdrill_token, which earlier versions set, is read too."
                },
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
            },
        },
    })
}
