/** API Gateway REST proxy event → the relay's own request. The Host header is never trusted or used. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RelayRequest } from '../../core/http';

export function eventToRequest(event: APIGatewayProxyEvent): RelayRequest {
  const headers: Record<string, string> = {};
  const multi = event.multiValueHeaders ?? {};
  for (const [name, values] of Object.entries(multi)) {
    if (values && values.length > 0) headers[name.toLowerCase()] = values.join(', ');
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    const lower = name.toLowerCase();
    if (value !== undefined && !(lower in headers)) headers[lower] = value;
  }
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const value of values ?? []) query.append(name, value);
  }
  const method = event.httpMethod;
  const hasBody = method !== 'GET' && method !== 'HEAD' && event.body != null;
  return {
    method,
    path: event.path?.startsWith('/') ? event.path : '/',
    query: query.toString(),
    headers,
    body: hasBody ? Buffer.from(event.body as string, event.isBase64Encoded ? 'base64' : 'utf8') : undefined,
  };
}
