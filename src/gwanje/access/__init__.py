"""Video governance, access side: purpose-bound access, provision to the police, data-subject
requests (PIPA Art. 35), retention holds and the ledgers (개인영상정보 관리대장)."""
