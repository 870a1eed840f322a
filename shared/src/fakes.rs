//! In-memory fakes of the ports, for unit tests of the executor's logic only. The AWS adapters
//! are tested against the local AWS (moto) in `tests/`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::exposure::IngressRule;
use crate::notify::Notification;
use crate::plan::{Exemption, RemediationRecord, RemediationStatus, StepRecord};
use crate::ports::*;

#[derive(Default)]
pub struct FakeGroups {
    pub rules: Mutex<Vec<IngressRule>>,
    /// Rule ids whose revoke fails (once each) with this error kind.
    pub fail_revoke: Mutex<BTreeMap<String, ErrorKind>>,
    pub revoke_calls: Mutex<usize>,
    next_id: Mutex<u32>,
}

impl FakeGroups {
    pub fn with(rules: Vec<IngressRule>) -> Self {
        Self { rules: Mutex::new(rules), ..Default::default() }
    }
    pub fn ids(&self) -> Vec<String> {
        self.rules.lock().unwrap().iter().map(|r| r.rule_id.clone()).collect()
    }
}

impl SecurityGroups for FakeGroups {
    async fn ingress_rules(&self, group_ids: Option<&[String]>) -> PortResult<Vec<IngressRule>> {
        let rules = self.rules.lock().unwrap();
        Ok(rules.iter().filter(|r| group_ids.is_none_or(|g| g.contains(&r.group_id))).cloned().collect())
    }

    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> Vec<RevokeResult> {
        *self.revoke_calls.lock().unwrap() += 1;
        let mut rules = self.rules.lock().unwrap();
        let mut fail = self.fail_revoke.lock().unwrap();
        rule_ids
            .iter()
            .map(|id| {
                if let Some(kind) = fail.remove(id) {
                    return RevokeResult::Failed(PortError::new("RevokeSecurityGroupIngress", kind, "injected"));
                }
                match rules.iter().position(|r| &r.rule_id == id && r.group_id == group_id) {
                    Some(i) => {
                        rules.remove(i);
                        RevokeResult::Revoked
                    }
                    None => RevokeResult::AlreadyAbsent,
                }
            })
            .collect()
    }

    async fn restore_ingress(&self, rule: &IngressRule) -> PortResult<String> {
        let mut rules = self.rules.lock().unwrap();
        let same = |r: &IngressRule| {
            r.group_id == rule.group_id
                && r.ip_protocol == rule.ip_protocol
                && r.from_port == rule.from_port
                && r.to_port == rule.to_port
                && r.source == rule.source
        };
        if rules.iter().any(same) {
            return Err(PortError::new("AuthorizeSecurityGroupIngress", ErrorKind::AlreadyExists, "duplicate"));
        }
        let mut n = self.next_id.lock().unwrap();
        *n += 1;
        let mut restored = rule.clone();
        restored.rule_id = format!("sgr-restored{n}");
        rules.push(restored.clone());
        Ok(restored.rule_id)
    }
}

#[derive(Default)]
pub struct FakeStore {
    pub records: Mutex<BTreeMap<String, RemediationRecord>>,
    pub steps: Mutex<BTreeMap<(String, bool, usize), StepRecord>>,
    pub exemptions: Mutex<Vec<Exemption>>,
    /// Fail the n-th `put_steps` call (1-based) to simulate a crash mid-way.
    pub fail_put_steps_at: Mutex<Option<usize>>,
    put_steps_calls: Mutex<usize>,
}

impl AuditStore for FakeStore {
    async fn create_remediation(&self, record: &RemediationRecord) -> PortResult<Option<RemediationRecord>> {
        let mut records = self.records.lock().unwrap();
        if let Some(existing) = records.get(&record.id) {
            return Ok(Some(existing.clone()));
        }
        records.insert(record.id.clone(), record.clone());
        Ok(None)
    }

    async fn remediation(&self, id: &str) -> PortResult<Option<RemediationRecord>> {
        Ok(self.records.lock().unwrap().get(id).cloned())
    }

    async fn claim(
        &self,
        id: &str,
        from: &[RemediationStatus],
        to: RemediationStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        requested_by: Option<&str>,
    ) -> PortResult<bool> {
        let mut records = self.records.lock().unwrap();
        let Some(r) = records.get_mut(id) else { return Ok(false) };
        if !from.contains(&r.status) || r.lease_until.is_some_and(|l| l > now) {
            return Ok(false);
        }
        r.status = to;
        r.lease_until = Some(lease_until);
        r.updated_at = now;
        if let Some(by) = requested_by {
            r.undo_requested_by = Some(by.to_string());
        }
        Ok(true)
    }

    async fn finish(&self, id: &str, status: RemediationStatus, now: DateTime<Utc>) -> PortResult<()> {
        let mut records = self.records.lock().unwrap();
        let r = records.get_mut(id).expect("finish of an unknown record");
        r.status = status;
        r.lease_until = None;
        r.updated_at = now;
        Ok(())
    }

    async fn mark_notified(&self, id: &str) -> PortResult<()> {
        self.records.lock().unwrap().get_mut(id).expect("known record").notified = true;
        Ok(())
    }

    async fn put_steps(&self, id: &str, undo: bool, steps: &[StepRecord]) -> PortResult<()> {
        let mut calls = self.put_steps_calls.lock().unwrap();
        *calls += 1;
        if *self.fail_put_steps_at.lock().unwrap() == Some(*calls) {
            return Err(PortError::new("TransactWriteItems", ErrorKind::Throttled, "injected crash"));
        }
        let mut all = self.steps.lock().unwrap();
        for s in steps {
            all.insert((id.to_string(), undo, s.index), s.clone());
        }
        Ok(())
    }

    async fn steps(&self, id: &str, undo: bool) -> PortResult<Vec<StepRecord>> {
        let all = self.steps.lock().unwrap();
        Ok(all.iter().filter(|((i, u, _), _)| i == id && *u == undo).map(|(_, s)| s.clone()).collect())
    }

    async fn exemptions(&self) -> PortResult<Vec<Exemption>> {
        Ok(self.exemptions.lock().unwrap().clone())
    }

    async fn put_exemption(&self, exemption: &Exemption) -> PortResult<()> {
        self.exemptions.lock().unwrap().push(exemption.clone());
        Ok(())
    }

    async fn delete_exemption(&self, exemption: &Exemption) -> PortResult<()> {
        self.exemptions.lock().unwrap().retain(|e| e != exemption);
        Ok(())
    }
}

#[derive(Default)]
pub struct FakeNotifier {
    pub sent: Mutex<Vec<Notification>>,
    /// Each `true` fails one call, in order.
    pub failures: Mutex<VecDeque<bool>>,
}

impl Notifier for FakeNotifier {
    async fn notify(&self, n: &Notification) -> PortResult<()> {
        if self.failures.lock().unwrap().pop_front().unwrap_or(false) {
            return Err(PortError::new("Publish", ErrorKind::Throttled, "injected"));
        }
        self.sent.lock().unwrap().push(n.clone());
        Ok(())
    }
}
