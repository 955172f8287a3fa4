//! Date bounds in query strings (`since`, `until`): an RFC 3339 time, or a `YYYY-MM-DD` date
//! meaning its start (`since`) or its whole day included (`until`).

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{ApiError, ApiResult};

pub fn parse_bound(name: &str, value: &str, end_of_day: bool) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_date",
            format!("{name} must be an RFC 3339 time or a YYYY-MM-DD date, not {value:?}"),
        )
    })?;
    let day = if end_of_day {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}
