import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from './console-page';

/**
 * Scripts and styles from this origin only; no inline script, no plugin, no framing. The API calls are
 * same-origin fetches; nothing else is loaded.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The admin console: a static page, its style sheet and its script. No authentication here (there is
 * nothing secret in them); the page signs in with an admin token and calls the admin API, which checks it.
 */
@ApiExcludeController()
@Controller('admin')
export class AdminConsoleController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return CONSOLE_HTML;
  }

  @Get('console.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return CONSOLE_JS;
  }

  @Get('console.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  style(): string {
    return CONSOLE_CSS;
  }
}
