//! The archive of the channels' raw bills (SPEC §4.13): each file kept in the stack's S3 bucket
//! under its app, channel and day, named by its SHA-1, so keeping the same file twice is one
//! object and a corrected file of the same day sits beside the first.

use super::aws::SdkClient;
use crate::domain::Channel;

/// The S3 client: an endpoint of our own (the local emulator) serves buckets by path.
fn s3_client(sdk: &aws_types::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The stack's bill bucket. The S3 client is made on first use, not at a function's init.
#[derive(Debug, Clone)]
pub struct BillArchive {
    client: SdkClient<aws_sdk_s3::Client>,
    bucket: String,
}

/// Why a bill was not kept.
#[derive(Debug, Clone, thiserror::Error)]
#[error("bill archive: {0}")]
pub struct ArchiveError(pub String);

impl BillArchive {
    pub fn new(sdk: aws_types::SdkConfig, bucket: impl Into<String>) -> Self {
        Self {
            client: SdkClient::on_first_use(&sdk),
            bucket: bucket.into(),
        }
    }

    /// The object key of a bill: `bills/<app>/<channel>/<day>/<sha1>.<ext>`.
    pub fn key(app: &str, channel: Channel, day: &str, sha1_hex: &str, ext: &str) -> String {
        format!("bills/{app}/{}/{day}/{sha1_hex}.{ext}", channel.code())
    }

    /// Keeps `bytes` under `key` with its SHA-1 in the object's metadata.
    pub async fn keep(&self, key: &str, bytes: &[u8], sha1_hex: &str) -> Result<(), ArchiveError> {
        self.client
            .get(s3_client)
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(bytes.to_vec()))
            .metadata("sha1", sha1_hex)
            .send()
            .await
            .map_err(|e| {
                ArchiveError(format!(
                    "PutObject: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }

    /// The bucket (for an operator's tools and the tests, which read it with their own client).
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}
