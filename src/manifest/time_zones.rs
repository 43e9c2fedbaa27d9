//! Suggestions for a refresh schedule's `localTimeZoneId` that is not a Windows time-zone id;
//! the ids themselves are the `windows-time-zones` crate's table (shared with the emulator).

use windows_time_zones::WINDOWS_TIME_ZONES;

/// The id `id` most likely meant: the same id in other case, or the nearest by spelling.
pub fn suggest(id: &str) -> Option<&'static str> {
    if let Some(same) = WINDOWS_TIME_ZONES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(id))
    {
        return Some(same);
    }
    let known: Vec<String> = WINDOWS_TIME_ZONES.iter().map(|k| (*k).to_owned()).collect();
    let best = super::schema::closest(id, &known)?;
    WINDOWS_TIME_ZONES.iter().copied().find(|k| *k == best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_time_zones::is_windows_time_zone;

    #[test]
    fn ids_are_recognised_and_near_misses_suggested() {
        assert!(is_windows_time_zone("UTC"));
        assert!(is_windows_time_zone("W. Europe Standard Time"));
        assert!(!is_windows_time_zone("Mars/Olympus_Mons"));
        assert!(!is_windows_time_zone("Europe/Berlin"));
        assert_eq!(suggest("utc"), Some("UTC"));
        assert_eq!(
            suggest("W. Europe Standart Time"),
            Some("W. Europe Standard Time")
        );
        assert_eq!(suggest("Mars/Olympus_Mons"), None);
    }
}
