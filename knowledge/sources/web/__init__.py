from knowledge.sources.web.crawl import CrawlResult, PageState, crawl_website_sync, page_title
from knowledge.sources.web.extract import extract_page
from knowledge.sources.web.folder import DirectoryTransport
from knowledge.sources.web.page_dates import page_updated_at

__all__ = [
    'CrawlResult',
    'DirectoryTransport',
    'PageState',
    'crawl_website_sync',
    'extract_page',
    'page_title',
    'page_updated_at',
]
