//! Sessions (Twisted's `server.Session`): an id in a cookie, typed values,
//! expiry after inactivity on the clock.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gyre_core::{Clock, ClockExt, DelayedCall};
use ring::rand::{SecureRandom, SystemRandom};

use super::cookie::{SameSite, SetCookie};
use super::methods::log_send;
use super::reply::Reply;
use super::request::SiteRequest;

/// The session cookie's name (Twisted's `TWISTED_SESSION`).
pub const SESSION_COOKIE: &str = "GYRE_SESSION";

/// Random bytes in a session id (hex-encoded in the cookie), as Twisted.
const ID_BYTES: usize = 32;

/// The default most sessions alive at once (see [`SessionStore::with_limit`]).
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

struct StoreState {
    clock: Rc<dyn Clock>,
    timeout: Duration,
    random: SystemRandom,
    cookie_name: String,
    secure: Cell<bool>,
    sessions: RefCell<HashMap<String, Session>>,
    /// Ids in creation order (some already gone), to evict the oldest.
    order: RefCell<VecDeque<String>>,
    limit: usize,
}

/// The sessions of a [`Site`](super::Site): ids from the system's secure
/// random source, each session expiring after `timeout` without use (a
/// timer on the clock, reset on every use), or explicitly.
#[derive(Clone)]
pub struct SessionStore {
    state: Rc<StoreState>,
}

impl SessionStore {
    /// Sessions expiring after `timeout` of inactivity, timed on `clock`,
    /// at most [`DEFAULT_MAX_SESSIONS`] alive.
    pub fn new(clock: Rc<dyn Clock>, timeout: Duration) -> SessionStore {
        SessionStore::with_limit(clock, timeout, DEFAULT_MAX_SESSIONS)
    }

    /// Sessions expiring after `timeout`, at most `limit` alive: creating
    /// one more expires the oldest-created, so clients that never send their cookie
    /// back cannot grow the store without bound (Twisted has no limit).
    pub fn with_limit(clock: Rc<dyn Clock>, timeout: Duration, limit: usize) -> SessionStore {
        SessionStore {
            state: Rc::new(StoreState {
                clock,
                timeout,
                random: SystemRandom::new(),
                cookie_name: SESSION_COOKIE.to_owned(),
                secure: Cell::new(false),
                sessions: RefCell::new(HashMap::new()),
                order: RefCell::new(VecDeque::new()),
                limit: limit.max(1),
            }),
        }
    }

    /// Expires the oldest sessions until one more fits.
    fn make_room(&self) {
        loop {
            if self.len() < self.state.limit {
                break;
            }
            let Some(oldest) = self.state.order.borrow_mut().pop_front() else {
                break;
            };
            let session = self.state.sessions.borrow().get(&oldest).cloned();
            if let Some(session) = session {
                session.expire();
            }
        }
        let mut order = self.state.order.borrow_mut();
        if order.len() > 2 * self.state.limit {
            let sessions = self.state.sessions.borrow();
            order.retain(|id| sessions.contains_key(id));
        }
    }

    /// Marks session cookies `Secure` (a site served over TLS only).
    pub fn set_secure(&self, secure: bool) {
        self.state.secure.set(secure);
    }

    /// The inactivity timeout.
    pub fn timeout(&self) -> Duration {
        self.state.timeout
    }

    /// How many sessions are alive.
    pub fn len(&self) -> usize {
        self.state.sessions.borrow().len()
    }

    /// Whether no session is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A new session with a fresh random id.
    pub fn create(&self) -> Session {
        self.make_room();
        let mut bytes = [0u8; ID_BYTES];
        // SystemRandom only fails when the OS has no entropy source at all.
        self.state
            .random
            .fill(&mut bytes)
            .expect("the system random source failed");
        let id = bytes
            .iter()
            .fold(String::with_capacity(2 * ID_BYTES), |mut id, byte| {
                let _ = write!(id, "{byte:02x}");
                id
            });
        let session = Session {
            state: Rc::new(SessionState {
                id: id.clone(),
                store: Rc::downgrade(&self.state),
                values: RefCell::new(HashMap::new()),
                timer: RefCell::new(None),
                expired: Cell::new(false),
                on_expire: RefCell::new(Vec::new()),
            }),
        };
        let weak = Rc::downgrade(&session.state);
        let timer = self.state.clock.call_later(self.state.timeout, move || {
            if let Some(state) = weak.upgrade() {
                Session { state }.expire();
            }
        });
        *session.state.timer.borrow_mut() = Some(timer);
        self.state.order.borrow_mut().push_back(id.clone());
        self.state.sessions.borrow_mut().insert(id, session.clone());
        session
    }

    /// The live session with `id`, touched (its timer reset).
    pub fn lookup(&self, id: &str) -> Option<Session> {
        let session = self.state.sessions.borrow().get(id).cloned()?;
        session.touch();
        Some(session)
    }

    /// The session of `request` (by its cookie), or a new one whose cookie
    /// is added to `reply` (`Path=/; HttpOnly; SameSite=Lax`, plus `Secure`
    /// when set).
    pub fn session_for(&self, request: &SiteRequest, reply: &Reply) -> Session {
        let name = &self.state.cookie_name;
        let known = request
            .cookies()
            .into_iter()
            .filter(|(key, _)| key == name)
            .find_map(|(_, id)| self.lookup(&id));
        if let Some(session) = known {
            return session;
        }
        let session = self.create();
        let cookie = SetCookie::new(name, session.id()).map(|cookie| {
            let cookie = cookie.http_only().same_site(SameSite::Lax);
            if self.state.secure.get() {
                cookie.secure()
            } else {
                cookie
            }
        });
        if let Ok(cookie) = cookie.and_then(|cookie| cookie.path("/")) {
            log_send(reply.add_cookie(&cookie));
        }
        session
    }
}

struct SessionState {
    id: String,
    store: Weak<StoreState>,
    values: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
    timer: RefCell<Option<DelayedCall>>,
    expired: Cell<bool>,
    on_expire: RefCell<Vec<Box<dyn FnOnce()>>>,
}

/// One session: an id and a typed component map (one value per type, like
/// Twisted's `Componentized` sessions).
#[derive(Clone)]
pub struct Session {
    state: Rc<SessionState>,
}

impl Session {
    /// The id (the cookie's value).
    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// Resets the inactivity timer (done by every lookup).
    pub fn touch(&self) {
        let Some(store) = self.state.store.upgrade() else {
            return;
        };
        if let Some(timer) = &*self.state.timer.borrow() {
            timer.reset(store.clock.now(), store.timeout);
        }
    }

    /// Stores `value` as this session's `T`, replacing the previous one.
    pub fn set<T: 'static>(&self, value: T) {
        self.state
            .values
            .borrow_mut()
            .insert(TypeId::of::<T>(), Rc::new(value));
    }

    /// This session's `T`, if set.
    pub fn get<T: 'static>(&self) -> Option<Rc<T>> {
        let value = self.state.values.borrow().get(&TypeId::of::<T>()).cloned()?;
        value.downcast::<T>().ok()
    }

    /// This session's `T`, set to `make()` first if absent.
    pub fn get_or_insert_with<T: 'static>(&self, make: impl FnOnce() -> T) -> Rc<T> {
        if let Some(value) = self.get::<T>() {
            return value;
        }
        let value = Rc::new(make());
        self.state
            .values
            .borrow_mut()
            .insert(TypeId::of::<T>(), value.clone());
        value
    }

    /// Removes this session's `T`.
    pub fn remove<T: 'static>(&self) -> Option<Rc<T>> {
        let value = self.state.values.borrow_mut().remove(&TypeId::of::<T>())?;
        value.downcast::<T>().ok()
    }

    /// Calls `callback` when the session expires.
    pub fn notify_on_expire(&self, callback: impl FnOnce() + 'static) {
        if self.is_expired() {
            return callback();
        }
        self.state.on_expire.borrow_mut().push(Box::new(callback));
    }

    /// Whether it expired.
    pub fn is_expired(&self) -> bool {
        self.state.expired.get()
    }

    /// Ends the session now: forgotten by the store, values dropped, timer
    /// cancelled, expiry callbacks called.
    pub fn expire(&self) {
        if self.state.expired.replace(true) {
            return;
        }
        if let Some(store) = self.state.store.upgrade() {
            store.sessions.borrow_mut().remove(&self.state.id);
        }
        if let Some(timer) = self.state.timer.borrow_mut().take() {
            timer.cancel();
        }
        self.state.values.borrow_mut().clear();
        for callback in self.state.on_expire.take() {
            callback();
        }
    }
}
