/** The source contract names a Kafka partition `topic/partition`; topic names cannot contain '/'. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function parsePartitionKey(key: string): { topic: string; partition: number } {
  const slash = key.lastIndexOf('/');
  const partition = Number(key.slice(slash + 1));
  if (slash <= 0 || !Number.isInteger(partition) || partition < 0) {
    throw new Error(`not a Kafka partition key (topic/partition): ${JSON.stringify(key)}`);
  }
  return { topic: key.slice(0, slash), partition };
}
