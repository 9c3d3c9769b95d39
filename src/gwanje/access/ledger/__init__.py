"""The statutory video ledgers (개인영상정보 관리대장): append-only rows, corrections, printing."""
