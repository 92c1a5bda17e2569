//! --read-only: consistency checks on the real calendars of the account (in progress).
