//! The terminal on standard output: its width, asked of the kernel each time (the user may
//! resize the window while a run lasts).

/// The width of the terminal on standard output, in columns; `None` when it is not a terminal.
pub fn width() -> Option<u16> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given, which lives here.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(size.ws_col)
}

/// While held, the terminal does not echo control characters as `^C`, `^Z` …: the live
/// status line keeps the cursor at the end of a full row, where an echoed `^C` would start a
/// row of its own that the line's next redraw does not know of, leaving the line behind on
/// the screen. Dropping it restores the terminal's settings.
pub struct QuietControlEcho {
    fd: libc::c_int,
    saved: Option<libc::termios>,
}

impl QuietControlEcho {
    /// Stop echoing control characters on the terminal of standard input (or output).
    pub fn new() -> Self {
        for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
            // SAFETY: tcgetattr and tcsetattr read and write one `termios` that lives here.
            unsafe {
                let mut settings: libc::termios = std::mem::zeroed();
                if libc::isatty(fd) != 1 || libc::tcgetattr(fd, &mut settings) != 0 {
                    continue;
                }
                let saved = settings;
                settings.c_lflag &= !libc::ECHOCTL;
                if libc::tcsetattr(fd, libc::TCSANOW, &settings) == 0 {
                    return Self { fd, saved: Some(saved) };
                }
            }
        }
        Self { fd: -1, saved: None }
    }
}

impl Default for QuietControlEcho {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for QuietControlEcho {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            // SAFETY: as in `new`; the settings are the ones read there.
            unsafe {
                libc::tcsetattr(self.fd, libc::TCSANOW, &saved);
            }
        }
    }
}
