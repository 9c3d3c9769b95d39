"""Provision of video to another organisation (영상정보 제공, Art. 11): requests with their official
documents, emergency first access, usage results and the statistics made from them."""
