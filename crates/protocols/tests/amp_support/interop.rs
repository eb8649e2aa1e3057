//! The commands `twisted_peer.py` declares, as gyre types, the gyre side of
//! its server, and the plumbing to run the Python peer: a temporary
//! directory holding the script, a server child guarded by `KillOnDrop`
//! whose "listening on" line is awaited with a deadline, and a client child
//! run by the reactor (so an in-process gyre server keeps serving it).

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::process::{ExitStatus, ProcessProtocol, ProcessTransport};
use gyre_core::{Deferred, Failure, Resolver};
use gyre_protocols::amp::{
    AmpBox, AmpList, ArgumentError, Command, DateTime, Decimal, DecodeContext, Empty, EncodeContext, Fields,
    NoErrors, Responders,
};
use gyre_reactor::Reactor;
use gyre_testing::peers::{KillOnDrop, peer_python, start_until};

use super::{Row, calculator};

/// How long any one peer may take.
pub const LIMIT: Duration = Duration::from_secs(60);

gyre_protocols::amp_fields! {
    /// Every argument type `twisted_peer.py` knows, but Descriptor.
    #[derive(Debug, Clone)]
    pub struct Everything {
        pub i: i64,
        pub big: i128,
        pub s: Vec<u8>,
        pub u: String,
        pub x: f64,
        pub b: bool,
        pub d: Decimal,
        pub t: DateTime,
        pub l: Vec<i64>,
        pub rows: AmpList<Row>,
        pub maybe: Option<i64>,
        pub maybe_set: Option<i64>,
        pub first_name as "first-name": String,
        pub path: PathBuf,
        pub floats: Vec<f64>,
        pub decimals: Vec<Decimal>,
        pub times: Vec<DateTime>,
        pub flags: Vec<bool>,
        pub blobs: Vec<Vec<u8>>,
    }
}

/// The values `EXPECTED` in `twisted_peer.py` holds.
pub fn expected() -> Everything {
    let time = |y, mo, d, h, mi, s, micro, offset| {
        DateTime::utc(y, mo, d, h, mi, s)
            .and_then(|t| t.with_microsecond(micro))
            .and_then(|t| t.with_offset_minutes(offset))
            .unwrap()
    };
    Everything {
        i: i64::MIN,
        big: i128::MAX,
        s: b"\x00\xffbin\r\n".to_vec(),
        u: "h\u{e9}llo \u{2603} \u{1F600}".into(),
        x: 0.1,
        b: true,
        d: "-1.50".parse().unwrap(),
        t: time(2012, 1, 23, 12, 34, 56, 54321, -330),
        l: vec![1, -2, 3],
        rows: AmpList(vec![
            Row { a: 7, b: "x".into() },
            Row {
                a: -1,
                b: String::new(),
            },
        ]),
        maybe: None,
        maybe_set: Some(5),
        first_name: "Ada".into(),
        path: PathBuf::from("/tmp/h\u{e9}llo"),
        floats: vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-5,
            1e16,
            -0.0,
            5e-324,
        ],
        decimals: [
            "1E+2",
            "NaN",
            "-Infinity",
            "sNaN12",
            "0E-7",
            "12345678901234567890.123",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect(),
        times: vec![
            time(1, 1, 1, 0, 0, 0, 0, 0),
            time(9999, 12, 31, 23, 59, 59, 999_999, 1439),
        ],
        flags: vec![true, false],
        blobs: vec![Vec::new(), vec![0]],
    }
}

/// The box a value encodes to: equal boxes mean equal values, NaNs and
/// decimal precision included.
pub fn wire_form(value: Everything) -> AmpBox {
    let mut out = AmpBox::new();
    value
        .encode_fields(&mut out, &mut EncodeContext::default())
        .unwrap();
    out
}

/// Echo's response: the arguments back, and whether the responder found
/// them equal to the expected values.
#[derive(Debug, Clone)]
pub struct Echoed {
    pub everything: Everything,
    pub matches: bool,
}

impl Fields for Echoed {
    fn encode_fields(self, out: &mut AmpBox, context: &mut EncodeContext) -> Result<(), ArgumentError> {
        self.everything.encode_fields(out, context)?;
        gyre_protocols::amp::BoxField::encode_field(self.matches, "matches", out, context)
    }

    fn decode_fields(from: &AmpBox, context: &mut DecodeContext<'_>) -> Result<Self, ArgumentError> {
        Ok(Echoed {
            everything: Everything::decode_fields(from, context)?,
            matches: gyre_protocols::amp::BoxField::decode_field("matches", from, context)?,
        })
    }
}

/// Answers its arguments back.
pub struct Echo;
impl Command for Echo {
    const NAME: &'static str = "Echo";
    type Arguments = Everything;
    type Response = Echoed;
    type Error = NoErrors;
}

gyre_protocols::amp_fields! {
    /// Fail's argument.
    pub struct Why { pub why: String }
}

/// Fails with an undeclared error.
pub struct Fail;
impl Command for Fail {
    const NAME: &'static str = "Fail";
    type Arguments = Why;
    type Response = Empty;
    type Error = NoErrors;
}

gyre_protocols::amp_fields! {
    /// What Heard answers.
    pub struct Messages { pub messages: Vec<String> }
}

/// The messages `Log` delivered so far.
pub struct Heard;
impl Command for Heard {
    const NAME: &'static str = "Heard";
    type Arguments = Empty;
    type Response = Messages;
    type Error = NoErrors;
}

gyre_protocols::amp_fields! {
    /// A label to write into a passed descriptor.
    pub struct Label { pub label: String, pub fd: OwnedFd }
}

/// Writes the label into the descriptor.
pub struct Greet;
impl Command for Greet {
    const NAME: &'static str = "Greet";
    type Arguments = Label;
    type Response = Empty;
    type Error = NoErrors;
}

gyre_protocols::amp_fields! {
    /// Text to put into a pipe.
    pub struct Text { pub text: String }
}

gyre_protocols::amp_fields! {
    /// The pipe's read end.
    pub struct ReadEnd { pub fd: OwnedFd }
}

/// Answers with a pipe holding the text.
pub struct Pipe;
impl Command for Pipe {
    const NAME: &'static str = "Pipe";
    type Arguments = Text;
    type Response = ReadEnd;
    type Error = NoErrors;
}

/// The gyre side of `twisted_peer.py`'s server: Sum, Divide, Echo, Fail,
/// Log, Heard, Greet and Pipe.
pub fn peer_responders() -> Responders {
    let heard: Rc<RefCell<Vec<String>>> = Rc::default();
    let log = heard.clone();
    let mut responders = calculator();
    responders
        .add(Echo, |everything| {
            let matches = wire_form(everything.clone()) == wire_form(expected());
            Ok(Echoed { everything, matches })
        })
        .add(Fail, |why| -> Result<Empty, Failure> {
            Err(Failure::msg(why.why).context("failing on purpose"))
        })
        .add(super::Log, move |message| {
            log.borrow_mut().push(message.message);
            Ok(Empty)
        })
        .add(Heard, move |_| {
            Ok(Messages {
                messages: heard.borrow().clone(),
            })
        })
        .add(Greet, |label| {
            let mut file = std::fs::File::from(label.fd);
            std::io::Write::write_all(&mut file, label.label.as_bytes())?;
            Ok(Empty)
        })
        .add(Pipe, |text| {
            let (reader, mut writer) = std::io::pipe()?;
            std::io::Write::write_all(&mut writer, text.text.trim_end_matches('?').as_bytes())?;
            Ok(ReadEnd {
                fd: OwnedFd::from(reader),
            })
        });
    responders
}

/// A temporary directory with `twisted_peer.py` in it, removed on drop.
pub struct PeerDir(pub PathBuf);

impl PeerDir {
    pub fn new(name: &str) -> PeerDir {
        let dir = std::env::temp_dir().join(format!("gyre-amp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("twisted_peer.py"), include_str!("twisted_peer.py")).unwrap();
        PeerDir(dir)
    }

    pub fn script(&self) -> PathBuf {
        self.0.join("twisted_peer.py")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for PeerDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `program args` and waits (bounded) for its "listening on X"
/// line; returns the guarded child and X.
pub fn start_listening(program: &Path, args: &[&str]) -> (KillOnDrop, String) {
    let (child, line) = start_until(Process::new(program).args(args), b"", "listening on ");
    let address = line["listening on ".len()..].to_owned();
    (child, address)
}

/// Starts `twisted_peer.py server ...`.
pub fn twisted_server(dir: &PeerDir, args: &[&str]) -> (KillOnDrop, String) {
    let python = peer_python("twisted");
    let script = dir.script();
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    start_listening(&python, &all)
}

/// Collects a child's output and reports its end.
struct Collect {
    output: Rc<RefCell<Vec<u8>>>,
    done: Option<Resolver<ExitStatus>>,
}

impl ProcessProtocol for Collect {
    fn out_received(&mut self, _process: &ProcessTransport, data: &[u8]) {
        self.output.borrow_mut().extend_from_slice(data);
    }

    fn err_received(&mut self, _process: &ProcessTransport, data: &[u8]) {
        self.output.borrow_mut().extend_from_slice(data);
    }

    fn process_ended(&mut self, _process: &ProcessTransport, status: ExitStatus) {
        if let Some(done) = self.done.take() {
            done.callback(status);
        }
    }
}

/// Runs `twisted_peer.py args` as a child of `reactor` until it exits (or
/// is killed after [`LIMIT`]); returns its exit status and everything it
/// printed.
pub fn run_twisted_client(reactor: &Reactor, dir: &PeerDir, args: &[&str]) -> (ExitStatus, String) {
    let python = peer_python("twisted");
    let output: Rc<RefCell<Vec<u8>>> = Rc::default();
    let (ended, done) = Deferred::new();
    let mut all = vec![dir.script().to_str().unwrap().to_owned()];
    all.extend(args.iter().map(|arg| (*arg).to_owned()));
    let process = reactor
        .spawn_process(
            Collect {
                output: output.clone(),
                done: Some(done),
            },
            &python,
            all,
            None,
            None,
        )
        .expect("starting the Twisted client");
    let result = reactor.run_until(ended.add_timeout(reactor, LIMIT));
    let printed = String::from_utf8_lossy(&output.borrow()).into_owned();
    match result {
        Ok(status) => (status, printed),
        Err(failure) => {
            let _ = process.signal_process(9);
            panic!("the Twisted client did not finish: {failure}\n{printed}");
        }
    }
}
