//! [`ServicePlugins`]: the services a program offers by name (`gyre web`,
//! `gyre echo`), registered explicitly when the program starts rather than
//! discovered by scanning (Twisted's `IServiceMaker` plugins, without the
//! plugin cache).

use crate::logging::LogOutput;
use crate::multi::DuplicateName;
use crate::worker::BuildTree;

/// What a plugin made of its command-line arguments.
pub enum Configured {
    /// `--help` was asked for: print [`ServicePlugin::help`] and exit 0.
    Help,
    /// Run the trees `build` makes (one per worker); SIGHUP also reopens
    /// `log_files` (the service's own logs, such as an access log).
    Run {
        /// Builds each worker's tree.
        build: BuildTree,
        /// Log files of the service's own.
        log_files: Vec<LogOutput>,
    },
}

/// One service a program offers by name.
#[derive(Clone, Copy)]
pub struct ServicePlugin {
    /// The name on the command line.
    pub name: &'static str,
    /// One line for the program's `--help`.
    pub summary: &'static str,
    /// The service's own `--help` text, with examples.
    pub help: fn() -> String,
    /// Parses the service's arguments (the words after its name).
    pub configure: fn(&[String]) -> Result<Configured, String>,
}

/// The services a program offers, in the order `--help` lists them.
#[derive(Default, Clone)]
pub struct ServicePlugins {
    plugins: Vec<ServicePlugin>,
}

impl ServicePlugins {
    /// None yet.
    pub fn new() -> Self {
        ServicePlugins::default()
    }

    /// Adds a service.
    ///
    /// # Errors
    /// When one with this name is already registered.
    pub fn register(&mut self, plugin: ServicePlugin) -> Result<(), DuplicateName> {
        if self.find(plugin.name).is_some() {
            return Err(DuplicateName(plugin.name.to_owned()));
        }
        self.plugins.push(plugin);
        Ok(())
    }

    /// The service with this name.
    pub fn find(&self, name: &str) -> Option<&ServicePlugin> {
        self.plugins.iter().find(|plugin| plugin.name == name)
    }

    /// Every service, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &ServicePlugin> {
        self.plugins.iter()
    }
}
