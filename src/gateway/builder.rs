//! [`GatewayBuilder`]: keys, partners, products, services and the state store, validated by
//! [`build`](GatewayBuilder::build).

use std::collections::HashMap;
use std::sync::Arc;

use crate::protocol::KeyPair;

use super::config::GatewayConfig;
use super::core::Gateway;
use super::error::ConfigError;
use super::key_ring::KeyRing;
use super::partners::Partner;
use super::service::Service;
use super::store::{MemoryStore, ReplayStore};
use super::tokens::{self, TicketKey};

/// Builds a [`Gateway`].
pub struct GatewayBuilder {
    config: GatewayConfig,
    key: KeyPair,
    previous_key: Option<KeyPair>,
    ticket_key: TicketKey,
    previous_ticket_key: Option<TicketKey>,
    partners: HashMap<String, Partner>,
    products: HashMap<String, String>,
    services: HashMap<String, Arc<dyn Service>>,
    store: Option<Arc<dyn ReplayStore>>,
}

impl core::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GatewayBuilder").finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    /// Sets lifetimes and windows.
    pub fn config(mut self, config: GatewayConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a previous HPKE key, still accepted after a rotation (listed second in
    /// `/v1/keys`).
    pub fn previous_key(mut self, key: KeyPair) -> Self {
        self.previous_key = Some(key);
        self
    }

    /// Adds a previous ticket key, so tokens sealed before a rotation stay valid. Its id must
    /// differ from the current ticket key's ([`ConfigError::DuplicateTicketKeyId`] from
    /// [`build`](Self::build)).
    pub fn previous_ticket_key(mut self, key: TicketKey) -> Self {
        self.previous_ticket_key = Some(key);
        self
    }

    /// Registers a partner account.
    pub fn partner(mut self, partner: Partner) -> Self {
        self.partners.insert(partner.id.clone(), partner);
        self
    }

    /// Registers a product and its page rendering data (a JSON object as text).
    pub fn product(mut self, id: impl Into<String>, page_json: impl Into<String>) -> Self {
        self.products.insert(id.into(), page_json.into());
        self
    }

    /// Registers a service under `name`.
    pub fn service(mut self, name: impl Into<String>, service: impl Service + 'static) -> Self {
        self.services.insert(name.into(), Arc::new(service));
        self
    }

    /// Sets the state store (default: a [`MemoryStore`] of [`DEFAULT_CAPACITY`]).
    pub fn store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Validates and builds.
    ///
    /// Errors: [`ConfigError`].
    pub fn build(self) -> Result<Gateway, ConfigError> {
        for (id, page) in &self.products {
            if !tokens::valid_name(id) {
                return Err(ConfigError::BadProductId(id.clone()));
            }
            let is_object = serde_json::from_str::<serde_json::Value>(page)
                .map(|v| v.is_object())
                .unwrap_or(false);
            if !is_object || page.len() > crate::protocol::messages::MAX_BODY_LEN {
                return Err(ConfigError::BadPage(id.clone()));
            }
        }
        if let Some(name) = self.services.keys().find(|n| !tokens::valid_name(n)) {
            return Err(ConfigError::BadServiceName(name.clone()));
        }
        let keys =
            KeyRing::new(self.key, self.previous_key).map_err(ConfigError::DuplicateKeyId)?;
        let ticket_keys = KeyRing::new(self.ticket_key, self.previous_ticket_key)
            .map_err(ConfigError::DuplicateTicketKeyId)?;
        Ok(Gateway {
            config: self.config,
            keys,
            ticket_keys,
            partners: self.partners,
            products: self.products,
            services: self.services,
            store: self
                .store
                .unwrap_or_else(|| Arc::new(MemoryStore::default())),
        })
    }
}

impl Gateway {
    /// Starts a builder with the current HPKE key and the current ticket key.
    pub fn builder(key: KeyPair, ticket_key: TicketKey) -> GatewayBuilder {
        GatewayBuilder {
            config: GatewayConfig::default(),
            key,
            previous_key: None,
            ticket_key,
            previous_ticket_key: None,
            partners: HashMap::new(),
            products: HashMap::new(),
            services: HashMap::new(),
            store: None,
        }
    }
}
