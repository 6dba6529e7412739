//! The S3 client: one per task, built from the connector's `s3.*` and
//! `aws.*` keys, and the object uploads the sink streams its files into.
//!
//! An object is written as the sink fills it: each time its buffer holds a
//! part (`s3.part.size`) the part is uploaded in the background, so a file
//! larger than memory can be written. An object that ends within its first
//! part is one `PutObject`; either way the object appears whole or not at
//! all, at the moment the upload completes.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, ServerSideEncryption,
};
use aws_sdk_s3::Client;
use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::config::StoreConfig;
use crate::error::{Result, S3Error};

/// Parts of one task's objects being uploaded at once, at most: enough to
/// keep the connection busy while the next part fills, few enough that
/// parts in flight stay a small multiple of `s3.part.size`.
const PARTS_IN_FLIGHT: usize = 4;

/// How objects are encrypted on the server (`s3.ssea.name`,
/// `s3.sse.kms.key.id`, `s3.sse.customer.key`).
#[derive(Clone, Debug, Default)]
pub enum Encryption {
    #[default]
    None,
    /// `AES256` or `aws:kms` (with a key id, or the account's default key).
    Server {
        algorithm: ServerSideEncryption,
        kms_key_id: Option<String>,
    },
    /// A key of the customer's (SSE-C): base64 of the 256-bit key and of its MD5.
    Customer { key: String, key_md5: String },
}

/// A bucket, and the client that reaches it.
#[derive(Clone)]
pub struct Store {
    client: Client,
    bucket: Arc<str>,
    encryption: Arc<Encryption>,
    acl: Option<ObjectCannedAcl>,
    parts: Arc<Semaphore>,
}

impl Store {
    /// Builds the client; nothing is sent yet (see [`check_bucket`](Self::check_bucket)).
    pub async fn new(cfg: &StoreConfig) -> Result<Store> {
        // rustls over ring, as the rest of the worker; the SDK's default
        // client would bring a second crypto library.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(cfg.region.clone()));
        // Without keys, the default chain: environment, profile, web
        // identity, container and instance credentials.
        if let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "connector-config",
            ));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(cfg.path_style_access)
            // Checksums only where S3 requires them: not every
            // S3-compatible server knows the newer checksum headers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(cfg.part_retries.saturating_add(1))
                    .with_initial_backoff(cfg.retry_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(url) = &cfg.store_url {
            builder = builder.endpoint_url(url.clone());
        }
        Ok(Store {
            client: Client::from_conf(builder.build()),
            bucket: cfg.bucket.as_str().into(),
            encryption: Arc::new(cfg.encryption.clone()),
            acl: cfg.acl.clone(),
            parts: Arc::new(Semaphore::new(PARTS_IN_FLIGHT)),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Whether the bucket exists: a missing bucket is an error naming it,
    /// at start.
    pub async fn check_bucket(&self) -> Result<()> {
        let Err(e) = self.client.head_bucket().bucket(&*self.bucket).send().await else {
            return Ok(());
        };
        let context = format!("bucket '{}'", self.bucket);
        match e.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => Err(S3Error::Refused {
                context,
                source: "the bucket does not exist (s3.bucket.name)".into(),
            }),
            // As Confluent's: a 403 (no s3:ListBucket in a write-only
            // policy) or a 301 (another region) is a bucket that exists;
            // a key refused for writing fails at the first upload, naming
            // why.
            Some(403) | Some(301) => {
                tracing::warn!(bucket = %self.bucket, "the bucket could not be checked (HTTP 403 or 301); going on as Confluent's sink does");
                Ok(())
            }
            _ => Err(classify(context, e)),
        }
    }

    /// A new object under `key`, empty until [`ObjectUpload::complete`].
    pub fn upload(&self, key: String) -> ObjectUpload {
        ObjectUpload {
            store: self.clone(),
            key,
            upload_id: None,
            parts: Vec::new(),
        }
    }

    /// Keys under `prefix`, in lexicographic order, with their sizes; every
    /// page of the listing.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&*self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| classify(format!("listing s3://{}/{prefix}", self.bucket), e))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    out.push((k.to_owned(), o.size().unwrap_or(0)));
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The whole object under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let mut req = self.client.get_object().bucket(&*self.bucket).key(key);
        if let Encryption::Customer { key: k, key_md5 } = &*self.encryption {
            req = req
                .sse_customer_algorithm("AES256")
                .sse_customer_key(k)
                .sse_customer_key_md5(key_md5);
        }
        let out = req
            .send()
            .await
            .map_err(|e| classify(format!("reading s3://{}/{key}", self.bucket), e))?;
        let body = out.body.collect().await.map_err(|e| S3Error::Unavailable {
            context: format!("reading s3://{}/{key}", self.bucket),
            source: Box::new(e),
        })?;
        Ok(body.into_bytes())
    }
}

/// One object being written: parts uploaded so far, in the background.
pub struct ObjectUpload {
    store: Store,
    key: String,
    upload_id: Option<String>,
    parts: Vec<JoinHandle<Result<CompletedPart>>>,
}

impl ObjectUpload {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Uploads `part` (at least 5 MiB, as S3 requires of all parts but the
    /// last) in the background; waits only while too many parts of the
    /// task are in flight.
    pub async fn upload_part(&mut self, part: Bytes) -> Result<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let s = &self.store;
                let mut req = s
                    .client
                    .create_multipart_upload()
                    .bucket(&*s.bucket)
                    .key(&self.key);
                req = match &*s.encryption {
                    Encryption::None => req,
                    Encryption::Server {
                        algorithm,
                        kms_key_id,
                    } => req
                        .server_side_encryption(algorithm.clone())
                        .set_ssekms_key_id(kms_key_id.clone()),
                    Encryption::Customer { key, key_md5 } => req
                        .sse_customer_algorithm("AES256")
                        .sse_customer_key(key)
                        .sse_customer_key_md5(key_md5),
                };
                if let Some(acl) = &s.acl {
                    req = req.acl(acl.clone());
                }
                let out = req.send().await.map_err(|e| {
                    classify(
                        format!("starting the upload of s3://{}/{}", s.bucket, self.key),
                        e,
                    )
                })?;
                let id = out.upload_id().ok_or_else(|| S3Error::Unavailable {
                    context: format!("starting the upload of s3://{}/{}", s.bucket, self.key),
                    source: "the server returned no upload id".into(),
                })?;
                self.upload_id = Some(id.to_owned());
                id.to_owned()
            }
        };
        let permit = self
            .store
            .parts
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| S3Error::Config("the part uploader is closed".into()))?;
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let store = self.store.clone();
        let key = self.key.clone();
        self.parts.push(tokio::spawn(async move {
            let _permit = permit;
            let mut req = store
                .client
                .upload_part()
                .bucket(&*store.bucket)
                .key(&key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(part));
            if let Encryption::Customer { key: k, key_md5 } = &*store.encryption {
                req = req
                    .sse_customer_algorithm("AES256")
                    .sse_customer_key(k)
                    .sse_customer_key_md5(key_md5);
            }
            let out = req.send().await.map_err(|e| {
                classify(
                    format!("uploading part {number} of s3://{}/{key}", store.bucket),
                    e,
                )
            })?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build())
        }));
        Ok(())
    }

    /// Uploads `last` (the object's remaining bytes, any size) and makes
    /// the object visible. On failure the multipart upload is aborted.
    pub async fn complete(mut self, last: Bytes) -> Result<()> {
        if self.upload_id.is_none() {
            return self.put_whole(last).await;
        }
        let result = self.finish_multipart(last).await;
        if result.is_err() {
            self.abort().await;
        }
        result
    }

    async fn put_whole(&self, body: Bytes) -> Result<()> {
        let s = &self.store;
        let mut req = s
            .client
            .put_object()
            .bucket(&*s.bucket)
            .key(&self.key)
            .body(ByteStream::from(body));
        req = match &*s.encryption {
            Encryption::None => req,
            Encryption::Server {
                algorithm,
                kms_key_id,
            } => req
                .server_side_encryption(algorithm.clone())
                .set_ssekms_key_id(kms_key_id.clone()),
            Encryption::Customer { key, key_md5 } => req
                .sse_customer_algorithm("AES256")
                .sse_customer_key(key)
                .sse_customer_key_md5(key_md5),
        };
        if let Some(acl) = &s.acl {
            req = req.acl(acl.clone());
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| classify(format!("writing s3://{}/{}", s.bucket, self.key), e))
    }

    async fn finish_multipart(&mut self, last: Bytes) -> Result<()> {
        if !last.is_empty() {
            self.upload_part(last).await?;
        }
        let mut completed = Vec::with_capacity(self.parts.len());
        for handle in self.parts.drain(..) {
            let part = handle.await.map_err(|e| S3Error::Unavailable {
                context: format!(
                    "uploading a part of s3://{}/{}",
                    self.store.bucket, self.key
                ),
                source: Box::new(e),
            })??;
            completed.push(part);
        }
        let s = &self.store;
        s.client
            .complete_multipart_upload()
            .bucket(&*s.bucket)
            .key(&self.key)
            .set_upload_id(self.upload_id.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(format!("completing s3://{}/{}", s.bucket, self.key), e))
    }

    /// Drops the parts uploaded so far; best effort (a bucket lifecycle
    /// rule cleans up what a crash leaves).
    pub async fn abort(&mut self) {
        for handle in self.parts.drain(..) {
            handle.abort();
        }
        if let Some(id) = self.upload_id.take() {
            let s = &self.store;
            if let Err(e) = s
                .client
                .abort_multipart_upload()
                .bucket(&*s.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await
            {
                tracing::debug!(key = %self.key, error = %e, "aborting a multipart upload failed");
            }
        }
    }
}

/// Server-side failures and unreachable servers are worth retrying once
/// the SDK's own retries are spent; refusals are not.
fn classify<E>(context: String, e: SdkError<E, HttpResponse>) -> S3Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let retriable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("");
            matches!(
                code,
                "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout"
            ) || e
                .raw_response()
                .is_some_and(|r| r.status().is_server_error() || r.status().as_u16() == 429)
        }
        _ => false,
    };
    let source: ferry_api::BoxError = match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("(no message)")
            )
            .into()
        }
        _ => aws_sdk_s3::error::DisplayErrorContext(&e)
            .to_string()
            .into(),
    };
    if retriable {
        S3Error::Unavailable { context, source }
    } else {
        S3Error::Refused { context, source }
    }
}

/// The base64 MD5 of a base64 SSE-C key's bytes, which S3 wants beside it.
pub fn customer_key_md5(key: &str) -> Result<String> {
    use base64::Engine;
    use md5::Digest;
    let engine = base64::engine::general_purpose::STANDARD;
    let raw = engine
        .decode(key.trim())
        .map_err(|e| S3Error::Config(format!("s3.sse.customer.key: not base64: {e}")))?;
    Ok(engine.encode(md5::Md5::digest(&raw)))
}
