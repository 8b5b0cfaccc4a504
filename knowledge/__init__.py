"""Knowledge: sources → documents → chunks → index, plus facts, freshness and conflicts.

Never imports `api` or `agent`.
"""
