"""Data-subject viewing requests (개인영상정보 열람 청구, PIPA Art. 35)."""
