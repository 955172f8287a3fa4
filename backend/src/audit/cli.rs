//! `gatehouse audit …`: commands an operator runs against the database directly.

use super::chain::{self, Verdict};
use crate::config::Config;
use crate::crypto::master_key;
use crate::db;

/// `gatehouse audit verify`: prints the verdict; `Ok(false)` when the chain is broken.
pub async fn verify(config: &Config) -> anyhow::Result<bool> {
    // The chain is keyed with the master secret: it must be the gateway's own, never a new one.
    let key_file = config.data_dir.join(master_key::KEY_FILE);
    if config.secret_key.is_none() && !key_file.exists() {
        anyhow::bail!(
            "no secret key: set GATEHOUSE_SECRET_KEY or point --data-dir at the gateway's data \
             directory ({} is missing); the audit chain is keyed with it",
            key_file.display()
        );
    }
    let (master, _) = master_key::load_or_generate(config.secret_key.as_ref(), &config.data_dir)?;
    chain::init(&master);
    // Mid-rotation, rows sealed under the previous secret are still the chain's own.
    let previous = master_key::load_previous(config.secret_key_previous.as_ref())?;
    chain::init_previous(previous.as_ref());
    let db = db::connect(config).await?;
    let verdict = chain::verify(&db).await?;
    db.close().await.ok();
    match verdict {
        Verdict::Intact {
            chained,
            legacy,
            head,
        } => {
            println!("audit log intact: {chained} chained rows");
            if legacy > 0 {
                println!(
                    "{legacy} older rows were written before the chain existed and are not covered"
                );
            }
            match head {
                Some((id, hash)) => println!("head: row {id}, hash {hash} (note it: rows cut off the end leave no trace in the chain)"),
                None => println!("the log has no chained rows yet"),
            }
            Ok(true)
        }
        Verdict::Broken {
            id,
            reason,
            chained_before,
        } => {
            println!("audit log BROKEN at row {id}: {reason}");
            println!("{chained_before} rows before it check out");
            Ok(false)
        }
    }
}
