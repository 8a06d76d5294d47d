import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRIC_NAMES } from '../../lambda/hosts/lambda/emf-metrics';

export interface RelayDashboardProps {
  readonly api: apigw.RestApi;
  readonly relayFunction: lambda.IFunction;
  readonly metricsNamespace: string;
  /** Model names to chart tokens for (the configured routes). */
  readonly models: readonly string[];
}

/** One CloudWatch dashboard: requests by status, tokens by model, latency p50/p99, errors. */
export class RelayDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RelayDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const relay = (metricName: string, statistic: string, dimensionsMap?: Record<string, string>, label?: string) =>
      new cloudwatch.Metric({ namespace: props.metricsNamespace, metricName, statistic, period, dimensionsMap, label });
    const statuses = ['200', '400', '401', '403', '404', '413', '429', '502', '503', '504'];
    const apiDimensions = { ApiName: props.api.restApiName, Stage: props.api.deploymentStage.stageName };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(24) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Requests by status',
        width: 12,
        stacked: true,
        left: statuses.map((status) => relay(METRIC_NAMES.requests, 'Sum', { Status: status }, status)),
      }),
      new cloudwatch.GraphWidget({
        title: 'Tokens by model',
        width: 12,
        left: props.models.flatMap((model) => [
          relay(METRIC_NAMES.inputTokens, 'Sum', { Model: model }, `${model} in`),
          relay(METRIC_NAMES.outputTokens, 'Sum', { Model: model }, `${model} out`),
        ]),
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Latency to last byte (ms)',
        width: 12,
        left: [relay(METRIC_NAMES.latency, 'p50', undefined, 'p50'), relay(METRIC_NAMES.latency, 'p99', undefined, 'p99')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Errors',
        width: 12,
        left: [
          new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: '5XXError', dimensionsMap: apiDimensions, statistic: 'Sum', period, label: 'API 5xx' }),
          new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: '4XXError', dimensionsMap: apiDimensions, statistic: 'Sum', period, label: 'API 4xx' }),
          props.relayFunction.metricErrors({ period, label: 'Function errors' }),
          props.relayFunction.metricThrottles({ period, label: 'Throttles' }),
          relay(METRIC_NAMES.authFailures, 'Sum', undefined, 'Auth failures'),
          relay(METRIC_NAMES.usageWriteFailures, 'Sum', undefined, 'Usage write failures'),
        ],
      }),
    );
  }
}
