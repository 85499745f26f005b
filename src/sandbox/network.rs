//! The network layer: `network off` and `network allow` put the agent in a new network
//! namespace where only loopback exists, so no connection can leave the machine directly.
//!
//! The only way out is night's proxy. Before exec, the child opens a TCP listener on
//! `127.0.0.1:`[`PROXY_PORT`] *inside* its namespace and hands the descriptor to night over a
//! unix socket pair (`SCM_RIGHTS`); night accepts on it from outside and connects to allowed
//! hosts from the host's namespace. No helper process, no bridge: the listener exists before
//! the agent runs, and nothing else in the namespace can reach anything. `HTTPS_PROXY` and
//! `HTTP_PROXY` point the agent's programs at it ([`super::env`]).
//!
//! `network off` for an agent that talks to a model API is `network allow` of that host only
//! ([`api_host`]); for `agent command` it is loopback alone, with no proxy.

use crate::ast::AgentKind;
use serde::Serialize;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The proxy's port inside the agent's network namespace (the namespace is empty, so any port
/// is free; a fixed one lets the environment be set before the child exists).
pub const PROXY_PORT: u16 = 3128;

/// What outbound network the agent gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "mode", content = "hosts")]
pub enum NetworkMode {
    /// `network on`: the host's network.
    Open,
    /// Loopback only, nothing leaves the namespace.
    Loopback,
    /// Loopback plus night's proxy, which lets these hosts through (`host`, `host:port`, `*.domain`).
    Proxy {
        /// The allowed hosts.
        hosts: Vec<String>,
    },
}

/// The model API host the agent kind needs, from its base-URL variable when set (a local or
/// corporate endpoint), else the provider's public host. `None` for kinds whose provider
/// night cannot know (`aider`, `goose` and `command` talk to whatever they are configured for:
/// list it in `network allow`).
pub fn api_host(kind: &AgentKind, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let (variable, default) = match kind {
        AgentKind::Claude => ("ANTHROPIC_BASE_URL", "api.anthropic.com"),
        AgentKind::Codex => ("OPENAI_BASE_URL", "api.openai.com"),
        AgentKind::Gemini => ("GOOGLE_GEMINI_BASE_URL", "generativelanguage.googleapis.com"),
        AgentKind::Aider | AgentKind::Goose | AgentKind::Command(_) => return None,
    };
    Some(env(variable).and_then(|url| host_of_url(&url)).unwrap_or_else(|| default.to_string()))
}

/// `https://host:port/path` → `host:port`; `https://host/…` → `host`.
fn host_of_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    (!authority.is_empty()).then(|| authority.to_string())
}

/// The socket pair the child sends the listener over, and whether there is a proxy at all.
#[derive(Debug)]
pub struct PreparedNetwork {
    parent: OwnedFd,
    child: OwnedFd,
    proxy: bool,
}

impl PreparedNetwork {
    /// Make the socket pair (close-on-exec: the agent never sees it).
    pub fn new(proxy: bool) -> Result<Self, super::SandboxError> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        let made = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
        if made != 0 {
            return Err(super::SandboxError::Io {
                action: "create the proxy's socket pair for",
                path: "the sandbox".into(),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: both were just created and are owned by nobody else.
        let (parent, child) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(PreparedNetwork { parent, child, proxy })
    }

    /// In the child: `ip link set lo up`, by ioctl.
    pub fn loopback_up(&self) -> io::Result<()> {
        // SAFETY: socket/ioctl/close with a zeroed ifreq on the stack.
        unsafe {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if sock < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut request: libc::ifreq = std::mem::zeroed();
            for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
                *slot = libc::c_char::try_from(*byte).unwrap_or(0);
            }
            let mut result = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut request);
            if result == 0 {
                request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
                result = libc::ioctl(sock, libc::SIOCSIFFLAGS, &request);
            }
            let error = io::Error::last_os_error();
            libc::close(sock);
            if result != 0 {
                return Err(error);
            }
        }
        Ok(())
    }

    /// In the child: listen on `127.0.0.1:PROXY_PORT` in the new namespace and send the
    /// listener to night. Nothing when there is no proxy.
    pub fn send_listener(&self) -> io::Result<()> {
        if !self.proxy {
            return Ok(());
        }
        // SAFETY: socket calls with structures on the stack; the descriptor is closed here
        // after it is sent (the message holds its own reference).
        unsafe {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if sock < 0 {
                return Err(io::Error::last_os_error());
            }
            let address = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: PROXY_PORT.to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be() },
                sin_zero: [0; 8],
            };
            let length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let mut result = libc::bind(sock, (&raw const address).cast(), length);
            if result == 0 {
                result = libc::listen(sock, 128);
            }
            if result == 0 {
                result = send_fd(self.child.as_raw_fd(), sock);
            }
            let error = io::Error::last_os_error();
            libc::close(sock);
            if result != 0 {
                return Err(error);
            }
        }
        Ok(())
    }

    /// In night, after the spawn: the listener the child sent.
    pub fn receive_listener(&self) -> io::Result<std::net::TcpListener> {
        let fd = receive_fd(self.parent.as_raw_fd())?;
        // SAFETY: the kernel just installed this descriptor for us.
        let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}

/// The control-message buffer for one descriptor, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct FdBuffer([u8; 64]);

/// Send `fd` over the unix socket `over`; returns 0 or -1 like a system call.
///
/// # Safety
/// Both must be open descriptors.
unsafe fn send_fd(over: libc::c_int, fd: libc::c_int) -> libc::c_int {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut buffer = FdBuffer([0; 64]);
    // SAFETY: the header points at live stack buffers big enough for one descriptor.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &raw mut iov;
        message.msg_iovlen = 1;
        message.msg_control = buffer.0.as_mut_ptr().cast();
        message.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize;
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>(), fd);
        if libc::sendmsg(over, &message, 0) < 0 {
            -1
        } else {
            0
        }
    }
}

/// Receive one descriptor from the unix socket `from` without waiting (the child sent it
/// before exec, so it is there once the spawn succeeded).
fn receive_fd(from: libc::c_int) -> io::Result<libc::c_int> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut buffer = FdBuffer([0; 64]);
    // SAFETY: as in send_fd; the received descriptor is checked before use.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &raw mut iov;
        message.msg_iovlen = 1;
        message.msg_control = buffer.0.as_mut_ptr().cast();
        message.msg_controllen = buffer.0.len();
        if libc::recvmsg(from, &mut message, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
        let header = libc::CMSG_FIRSTHDR(&message);
        if header.is_null() || (*header).cmsg_level != libc::SOL_SOCKET || (*header).cmsg_type != libc::SCM_RIGHTS {
            return Err(io::Error::other("the sandboxed child sent no listener"));
        }
        Ok(std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_hosts_follow_the_base_url() {
        let none = |_: &str| None;
        assert_eq!(api_host(&AgentKind::Claude, &none).as_deref(), Some("api.anthropic.com"));
        assert_eq!(api_host(&AgentKind::Codex, &none).as_deref(), Some("api.openai.com"));
        assert_eq!(api_host(&AgentKind::Gemini, &none).as_deref(), Some("generativelanguage.googleapis.com"));
        assert_eq!(api_host(&AgentKind::Aider, &none), None);
        let local = |name: &str| (name == "ANTHROPIC_BASE_URL").then(|| "http://user:pw@127.0.0.1:8123/v1".to_string());
        assert_eq!(api_host(&AgentKind::Claude, &local).as_deref(), Some("127.0.0.1:8123"));
    }
}
