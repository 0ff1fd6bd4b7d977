"""The passes cron runs: advance (one release), fleet (a repository), notify, detect; I/O around pure decisions."""
